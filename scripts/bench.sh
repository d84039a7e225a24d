#!/usr/bin/env bash
# `make bench`: load the release server with SIPp on loopback and measure what callers get.
#
# For each target number of simultaneous calls, SIPp places calls at a fixed rate; each caller
# listens to the welcome prompt, presses five keys (RFC 4733 pcaps) and hangs up during the next
# prompt. tshark records the server's RTP on loopback; bench/report.py turns SIPp's and
# tshark's records into: calls attempted/completed/failed, INVITE→200 latency p50/p99, server CPU
# and resident memory per simultaneous call, and the RTP inter-arrival jitter at the receiver.
#
#   scripts/bench.sh [LEVEL ...]     default levels: 25 50 100 200 300
set -euo pipefail
cd "$(dirname "$0")/.."
levels=("$@")
[[ ${#levels[@]} -gt 0 ]] || levels=(25 50 100 200 300)
command -v tshark >/dev/null || { sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo; DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq tshark >/dev/null; }

out=$(mktemp -d /tmp/hotline-bench.XXXX)
sip_port=25060
pcaps=/usr/share/sip-tester
scenario="$out/caller.xml"
sed -e "s#@KEY0@#$pcaps/dtmf_2833_pound.pcap#" -e "s#@KEY1@#$pcaps/dtmf_2833_1.pcap#" \
    -e "s#@KEY2@#$pcaps/dtmf_2833_1.pcap#" -e "s#@KEY3@#$pcaps/dtmf_2833_3.pcap#" \
    -e "s#@KEY4@#$pcaps/dtmf_2833_3.pcap#" -e "s#@HOLD_MS@#2000#" \
    tests/sipp/uac_welcome_digits.xml > "$scenario"
printf 'SEQUENTIAL\n5550100\n5550101\n5550102\n' > "$out/callers.csv"

# Each call lasts about 1.5 s × 5 keys + 2 s = 9.5 s; the rate keeps LEVEL calls up at once.
call_secs=9.5
echo "level,attempted,completed,failed,setup_p50_ms,setup_p99_ms,cpu_pct,rss_mb,rss_kb_per_call,streams,packets_per_call,jitter_p50_ms,jitter_p99_ms,jitter_max_ms,late_over_5ms_pct" > "$out/results.csv"
for level in "${levels[@]}"; do
  run="$out/$level"; mkdir -p "$run"
  rate=$(python3 -c "print(round($level / $call_secs, 2))")
  total=$(( level * 2 ))
  ./target/release/hotline serve --sip-listen 127.0.0.1:$sip_port --data-dir "$run/data" --rtp-ports 30000-39999 \
      > "$run/server.log" 2>&1 &
  server=$!
  sleep 1
  # The server's RTP (what callers hear) and the SIP on its port (answer latency).
  dumpcap -q -i lo -f "udp and (src portrange 30000-39999 or port $sip_port)" -w "$run/rtp.pcapng" > /dev/null 2>&1 &
  capture=$!
  sleep 1
  python3 bench/sample_process.py "$server" "$run/process.csv" &
  sampler=$!
  ( cd "$run" && sipp -sf "$scenario" -inf "$out/callers.csv" -s helpdesk 127.0.0.1:$sip_port \
        -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp 0 -r "$rate" -l "$level" -m "$total" \
        -timeout 300s -nostdin -trace_rtt -rtt_freq 1 -trace_stat -fd 1 > sipp.out 2>&1 ) || true
  sleep 1
  kill "$sampler" 2>/dev/null || true
  kill "$capture" 2>/dev/null || true
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  python3 bench/report.py "$level" "$run" >> "$out/results.csv"
  sip_port=$((sip_port + 2))
done
python3 bench/report.py --table "$out/results.csv"
echo "raw data: $out"

#!/usr/bin/env bash
# `make bench`: load a release server with SIPp on loopback and measure its capacity.
#
# For each target number of simultaneous calls, SIPp places calls at a fixed rate; each caller
# streams 20 s of speech as PCMU RTP (made from the speech fixtures by bench/speech_pcap.py),
# presses no key and hangs up, while the IVR plays its prompts and waits for a digit. Per level,
# over the steady part (every call up, from the end of the ramp to the last call placed):
#   - server CPU per live call, from /proc (100 % = one core);
#   - RTP packets the server sent per call-second, counted by an nftables counter on the RTP
#     port range (the kernel counts; a capture would compete for the two cores);
#   - jitter at the receiver on a sample of calls: tcpdump keeps only the server's RTP from the
#     ports whose number is a multiple of 512 (about one call in 256), and bench/report.py
#     measures each stream's (SSRC's) inter-arrival deviation from 20 ms;
#   - INVITE→200 p50/p99/max from SIPp's -trace_rtt, failed calls from -trace_stat, peak RSS.
#
#   scripts/bench.sh [--server PATH] [--label NAME] [--secs N] [--out DIR] [--data-root DIR]
#                    [--dialplan FILE] [--caller stream|pcap] [--probe RATE]
#                    [--postgres ADMIN_URL] [LEVEL ...]
#
# --server: the binary to load (default target/release/hotline), so that two builds can be
# measured back to back in the same conditions (`--server /tmp/hotline-before --label before`).
# --secs: how long SIPp keeps placing calls (default 60); each level then runs secs + 20 s.
# --data-root: where each run's data directory (SQLite database) goes, default the output
# directory; /dev/shm keeps a disk shared with other work (compiles) out of the measurement.
# --dialplan: the dialplan to serve (an older binary may not read today's).
# --caller: how SIPp sends the speech. `stream` (default): SIPp's rtp_stream, ordinary UDP
# sockets. `pcap`: play_pcap_audio, which opens a raw socket per playing call; the kernel then
# offers every UDP packet on the host to each of them, and that cost lands in the server's
# sendto (a fifth of its profile at 1,200 calls), so it measures the load generator as much as
# the server.
# --probe RATE: beside the load, a second SIPp (SIPp's built-in `uac`: no audio from the caller,
# 2 s calls) places RATE calls a second, and its own INVITE→200 p50/p99/max is reported as a
# line of `probe.csv`: how fast the SIP endpoint answers while the media loops carry LEVEL
# calls. Level 0 runs the probe alone (the endpoint with no media load).
# --postgres ADMIN_URL: store on PostgreSQL instead of SQLite: each level gets a new database on
# that server (dropped after), and the PostgreSQL processes' CPU over the run is reported beside
# the server's (postgres-cpu.txt), since the database's work then leaves the server's process.
# SIPP_MEDIA_PORT (default 40000): SIPp's first RTP port, to run beside another SIPp.
# Default levels: 500 1000 1500 2000. Needs root for nft (or sudo). On a machine shared with
# other work, run it as `nice -n -15 scripts/bench.sh …` so that the figures are the server's.
set -euo pipefail
cd "$(dirname "$0")/.."

server_bin=target/release/hotline
label=$(git rev-parse --short HEAD 2>/dev/null || echo build)
secs=60
out=""
data_root=""
dialplan=()
caller=stream
probe=""
postgres=""
levels=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server_bin=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data-root) data_root=$2; shift 2 ;;
    --dialplan) dialplan=(--dialplan "$2"); shift 2 ;;
    --caller) caller=$2; shift 2 ;;
    --probe) probe=$2; shift 2 ;;
    --postgres) postgres=$2; shift 2 ;;
    *) levels+=("$1"); shift ;;
  esac
done
[[ ${#levels[@]} -gt 0 ]] || levels=(500 1000 1500 2000)
[[ -x $server_bin ]] || { echo "no server binary at $server_bin" >&2; exit 1; }
for tool in sipp nft tcpdump; do
  command -v $tool >/dev/null || { echo "$tool missing: scripts/install-deps.sh --test" >&2; exit 1; }
done
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo

[[ -n $out ]] || out=$(mktemp -d /tmp/hotline-bench.XXXX)
mkdir -p "$out"
[[ -n $data_root ]] || data_root=$out
call_secs=20
rtp_ports=30000-39999
sip_port=25060
table=hotline_bench
python3 bench/speech_pcap.py "$out/speech.pcap" $call_secs tests/fixtures/speech/*.wav \
    --payload "$out/speech.ulaw"
case $caller in
  stream) play="rtp_stream=\"$out/speech.ulaw,1,0\"" ;;
  pcap) play="play_pcap_audio=\"$out/speech.pcap\"" ;;
  *) echo "--caller stream or pcap" >&2; exit 1 ;;
esac
sed -e "s#@PLAY@#$play#" -e "s#@HOLD_MS@#$((call_secs * 1000))#" \
    bench/caller_speech.xml > "$out/caller.xml"

cleanup() { $SUDO nft delete table inet $table 2>/dev/null || true; }
trap cleanup EXIT

# All the load comes from one address at a rate no real caller reaches: the per-source limits
# (for the open internet) would refuse it, and the total is set above every level measured.
cat > "$out/bench.toml" <<'EOF_CONFIG'
[limits]
max_calls = 5000
max_calls_per_source = 5000
new_calls_per_source_per_minute = 1000000
EOF_CONFIG
[[ -f $out/results.csv ]] || python3 bench/report.py --header > "$out/results.csv"
for level in "${levels[@]}"; do
  run="$out/$label-$level"; rm -rf "$run" "$data_root/$label-$level-data"; mkdir -p "$run"
  # The rate that keeps LEVEL calls up at once.
  rate=$(python3 -c "print(round($level / $call_secs, 2))")
  total=$(python3 -c "print(int($level / $call_secs * $secs))")
  cleanup
  $SUDO nft add table inet $table
  $SUDO nft add counter inet $table rtp_out
  $SUDO nft add chain inet $table out '{ type filter hook output priority 0; }'
  $SUDO nft add rule inet $table out udp sport $rtp_ports counter name rtp_out
  database=()
  if [[ -n $postgres ]]; then
    db="hotline_bench_${label//[^a-z0-9]/_}_$level"
    psql -q "$postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    database=(--database-url "${postgres%/*}/$db")
    # CPU of every PostgreSQL process (utime + stime) and of the backends that have exited
    # (cutime + cstime: the postmaster reaps them), in clock ticks.
    pg_ticks() { for p in $(pgrep -x postgres); do awk '{print $14 + $15 + $16 + $17}' /proc/$p/stat 2>/dev/null; done | awk '{t += $1} END {print t + 0}'; }
    pg_before=$(pg_ticks)
  fi
  "$server_bin" serve --config "$out/bench.toml" --sip-listen 127.0.0.1:$sip_port --http-listen 127.0.0.1:0 \
      --data-dir "$data_root/$label-$level-data" --rtp-ports $rtp_ports "${dialplan[@]}" \
      "${database[@]}" > "$run/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do grep -q "answering SIP" "$run/server.log" && break; sleep 0.1; done
  # Ports that are multiples of 512 in the range: about one call in 256.
  $SUDO tcpdump -i lo -s 64 -w "$run/sample.pcap" \
      "udp and udp[0:2] >= 30000 and udp[0:2] <= 39999 and (udp[0:2] & 0x1ff) = 0" \
      > /dev/null 2>&1 &
  capture=$!
  python3 bench/sample_process.py "$server" "$run/process.csv" $table rtp_out &
  sampler=$!
  uptime > "$run/uptime"
  if [[ -n $probe ]]; then
    # Starts once the load has ramped up (call_secs), places calls for secs - call_secs.
    mkdir -p "$run/probe"
    ( cd "$run/probe" && sleep $((level > 0 ? call_secs : 0)) && \
      timeout -s KILL $((secs + 60)) sipp -sn uac -s helpdesk 127.0.0.1:$sip_port \
          -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp 48000 -d 2000 -r "$probe" \
          -m $(python3 -c "print(int($probe * ($secs - ($level > 0) * $call_secs)))") \
          -timeout $((secs + 30))s -nostdin -trace_rtt -rtt_freq 1 -trace_stat > sipp.out 2>&1 ) &
    prober=$!
  fi
  # SIPp's own -timeout does not end it when its RTP threads hang at exit (seen once at
  # 1,500 calls, every call already over): the kill makes sure the next level runs.
  (( level > 0 )) && ( cd "$run" && timeout -s KILL $((secs + call_secs + 120)) sipp -sf "$out/caller.xml" -s helpdesk 127.0.0.1:$sip_port \
        -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp "${SIPP_MEDIA_PORT:-40000}" -r "$rate" -l "$level" -m "$total" \
        -timeout $((secs + call_secs + 60))s -nostdin -trace_rtt -rtt_freq 1 \
        -trace_stat -fd 1 > sipp.out 2>&1 ) || true
  [[ -n $probe ]] && { wait "$prober" || true; }
  kill "$sampler" 2>/dev/null || true
  $SUDO kill "$capture" 2>/dev/null || true
  server_ticks=$(awk '{print $14 + $15}' /proc/$server/stat 2>/dev/null || echo 0)
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  wait "$capture" 2>/dev/null || true
  [[ $data_root == "$out" ]] || rm -rf "${data_root:?}/$label-$level-data"
  if [[ -n $postgres ]]; then
    pg_cpu=$(( $(pg_ticks) - pg_before ))
    echo "PostgreSQL CPU over the run: $pg_cpu ticks; the server's: $server_ticks ticks" \
         "(ratio $(python3 -c "print(round($pg_cpu / max(1, $server_ticks), 3))"))" \
        | tee "$run/postgres-cpu.txt"
    psql -q "$postgres" -c "DROP DATABASE IF EXISTS $db" || true
  fi
  if (( level > 0 )); then
    python3 bench/report.py --label "$label" --level "$level" --secs "$secs" \
        --call-secs $call_secs "$run" | tee -a "$out/results.csv"
  fi
  if [[ -n $probe ]]; then
    python3 - "$run/probe" "$label" "$level" "$probe" <<'EOF_PROBE' | tee -a "$out/probe.csv"
import sys
sys.path.insert(0, "bench")
from report import percentile, setup_times, sipp_stats
run, label, level, rate = sys.argv[1:]
times = setup_times(run)
_, (attempted, ok, failed) = sipp_stats(run)
print(f"{label},{level},{rate},{attempted},{failed},{percentile(times, 50):.0f},"
      f"{percentile(times, 99):.0f},{max(times) if times else float('nan'):.0f}")
EOF_PROBE
  fi
  sip_port=$((sip_port + 2))
done
python3 bench/report.py --table "$out/results.csv"
if [[ -n $probe ]]; then
  echo "probe: label,level,calls/s,attempted,failed,INVITE→200 p50,p99,max (ms)"
  cat "$out/probe.csv"
fi
echo "raw data: $out"

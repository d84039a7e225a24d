#!/usr/bin/env bash
# `make bench`, bridged calls: SIPp callers → Hotline → SIPp technicians, N calls bridged at
# once by Hotline's RTP relay, each direction streaming speech (issue 13).
#
# Per level N, on a fresh release server and a fresh copy of a rota of ceil(N/3) teams of three
# technicians (set up once per N with the `hotline` CLI: bench/bridge_plan.py):
#   1. every technician registers (REGISTER, MD5 digest from an injection file;
#      bench/bridge_register.xml), all from the port where one SIPp then answers for all of them
#      (bench/bridge_technician.xml: answers, presses 1 to the announcement as RFC 4733, streams
#      speech until Hotline's BYE);
#   2. SIPp places N calls at RATE a second (bench/bridge_caller.xml): the bundled dialplan's P1
#      path keyed as RFC 4733 (1 3 1 1), then a three-digit team number that leads to that
#      team's route node (routing rings a team's primary, secondary and lead only, skipping
#      whoever is busy, so one team takes three calls at once: bench/bridge_plan.py says how);
#      call k goes to team k mod T, so each team's second call finds its primary busy and must
#      ring the secondary, its third the lead;
#   3. the callers stream speech from their last key to their BYE, held long enough that all N
#      are bridged for --secs seconds.
# Measured over the steady part (the seconds in which the technicians' SIPp has its most calls
# up, less 2 s at each end):
#   - server CPU per bridged call, from /proc (100 % = one core);
#   - RTP packets the server received and sent per bridged call-second, counted by nftables
#     counters on the server's RTP port range (input: destination port in the range; output:
#     source port in the range; both only to or from the SIPps' media ports, since other work on
#     the host may use the range), not by a capture that would compete for the two cores;
#   - jitter of what the server sends, on a sample of streams: tcpdump keeps only the server's
#     RTP from ports that are a multiple of a power of two chosen to sample about eight ports
#     (bench/report.py, as scripts/bench.sh);
#   - the callers' INVITE→200 (SIPp -trace_rtt), the callers' INVITE→bridged and route→bridged
#     (ticket created → technician_answered, routing_attempt → technician_answered, from the
#     database's timelines), failed calls on both SIPps, calls bridged, and whether routing
#     skipped busy technicians (every technician rung once, took one call).
#   - the relay's added delay p50/p99: from a frame's arrival from one phone to its departure to
#     the other, on the loopback, for a few chosen frames of the speech file (a second tcpdump
#     keeps only those, recognised by their first payload bytes: bench/report.py
#     relay_latency). It is the server's share only: SIPp's rtp_stream never reads, so nothing
#     here times a packet from phone to phone (benches/bridge.rs does, with its own phones).
#
#   scripts/bench-bridge.sh [--server PATH] [--label NAME] [--secs N] [--out DIR]
#                           [--data-root DIR] [--rate R] [--peers-nice N] [--levels "N ..."]
#                           [LEVEL ...]
#
# --server: the binary to load (default target/release/hotline). --secs: the steady part, all
# calls bridged (default 60). --rate: calls placed a second (default N/15, at most 10: a team's
# calls come T/RATE s apart, long enough for its previous one to be taken). --out, --data-root:
# as scripts/bench.sh (the rota built for a level is kept in --out and reused by later runs).
# --peers-nice: run the SIPps (the phones) at this absolute niceness, e.g. 19, so that they take
# only the CPU the server leaves, as phones on other machines would (default: the script's
# own). Default levels: 250 500 1000. Run as root: nft, tcpdump, and bench/sample_process.py reads the
# counters with nft (as scripts/bench.sh). On a machine shared with other work, run it as
# `nice -n -15 scripts/bench-bridge.sh …`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

server_bin=target/release/hotline
label=$(git rev-parse --short HEAD 2>/dev/null || echo build)
secs=60
out=""
data_root=""
rate=""
peers_nice=""
levels=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server_bin=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data-root) data_root=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --peers-nice) peers_nice=$2; shift 2 ;;
    --levels) read -r -a more <<< "$2"; levels+=("${more[@]}"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) levels+=("$1"); shift ;;
  esac
done
[[ ${#levels[@]} -gt 0 ]] || levels=(250 500 1000)
[[ -x $server_bin ]] || { echo "no server binary at $server_bin" >&2; exit 1; }
server_bin=$(realpath "$server_bin")
# The phones' SIPps, at --peers-nice when given (nice takes an increment: from ours to it).
peer=()
[[ -z $peers_nice ]] || peer=(nice -n $((peers_nice - $(nice))))
for tool in sipp nft tcpdump; do
  command -v $tool >/dev/null || { echo "$tool missing: scripts/install-deps.sh --test" >&2; exit 1; }
done
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo

[[ -n $out ]] || out=$(mktemp -d /tmp/hotline-bench-bridge.XXXX)
mkdir -p "$out"
out=$(realpath "$out")
[[ -n $data_root ]] || data_root=$out
rtp_ports=30000-39999
sip_port=26060
tech_port=26061
# The SIPps' media ports (rtp_stream sends every call's RTP from the one port in the SDP). The
# counters and the capture match them too: other work on this host may use the same RTP range.
caller_media=44000
tech_media=48000
table=hotline_bench_bridge
# Speech for both sides: the fixtures as a µ-law payload that rtp_stream loops.
python3 bench/speech_pcap.py "$out/speech.pcap" 20 tests/fixtures/speech/*.wav \
    --payload "$out/speech.ulaw"
play="rtp_stream=\"$out/speech.ulaw,-1,0\""
signatures=$(python3 bench/report.py --signatures "$out/speech.ulaw")
sed -e "s#@PLAY@#$play#" -e "s#@DTMF@#/usr/share/sip-tester#" \
    bench/bridge_technician.xml > "$out/technician.xml"

cleanup() { $SUDO nft delete table inet $table 2>/dev/null || true; }
trap cleanup EXIT

# All the load comes from one address at a rate no real caller reaches (as scripts/bench.sh).
# No keep-alive OPTIONS: the technicians' SIPp answers INVITEs only, and one that did not
# answer OPTIONS would be marked unreachable and skipped.
cat > "$out/bench.toml" <<'EOF_CONFIG'
[limits]
max_calls = 5000
max_calls_per_source = 5000
new_calls_per_source_per_minute = 1000000

[registrar]
keepalive_secs = 0
EOF_CONFIG
[[ -f $out/results-bridge.csv ]] || python3 bench/report.py --bridge-header > "$out/results-bridge.csv"
for level in "${levels[@]}"; do
  teams=$(( (level + 2) / 3 ))
  techs=$((teams * 3))
  plan="$out/plan-$level"
  # The rota and the generated files, once per level (about ten CLI commands a team).
  if [[ ! -f $plan/rota.db ]]; then
    rm -rf "$plan"; mkdir -p "$plan"
    echo "setting up $teams teams of three technicians in $plan (once)"
    python3 bench/bridge_plan.py "$level" "$plan" --hotline "$server_bin" \
        --database-url "sqlite://$plan/rota-new.db"
    "$server_bin" dialplan check "$plan/dialplan.toml" > /dev/null
    mv "$plan/rota-new.db" "$plan/rota.db"
  fi
  level_rate=${rate:-$(python3 -c "print(round(min(10, $level / 15), 2))")}
  ramp=$(python3 -c "print(round($level / $level_rate))")
  # Keys take 9 s, the ticket number and the announcement about 15 s more: every call is
  # bridged by ramp + 30 s, and the first caller hangs up after that plus the steady part.
  hold_ms=$(( (ramp + 30 + secs) * 1000 ))
  python3 bench/bridge_plan.py --caller bench/bridge_caller.xml "$plan" "$play" $hold_ms \
      > "$plan/caller.xml"

  run="$out/$label-$level"; data="$data_root/$label-$level-data"
  rm -rf "$run" "$data"; mkdir -p "$run/register" "$run/technicians" "$data"
  cp "$plan/rota.db" "$data/hotline.db"
  cleanup
  $SUDO nft add table inet $table
  $SUDO nft add counter inet $table rtp_in
  $SUDO nft add counter inet $table rtp_out
  $SUDO nft add chain inet $table in '{ type filter hook input priority 0; }'
  $SUDO nft add chain inet $table out '{ type filter hook output priority 0; }'
  $SUDO nft add rule inet $table in udp dport $rtp_ports udp sport "{ $caller_media, $tech_media }" \
      counter name rtp_in
  $SUDO nft add rule inet $table out udp sport $rtp_ports udp dport "{ $caller_media, $tech_media }" \
      counter name rtp_out
  "$server_bin" serve --config "$out/bench.toml" --sip-listen 127.0.0.1:$sip_port \
      --http-listen 127.0.0.1:0 --data-dir "$data" --rtp-ports $rtp_ports \
      --dialplan "$plan/dialplan.toml" > "$run/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do grep -q "answering SIP" "$run/server.log" && break; sleep 0.1; done
  # Every technician registers from the port their SIPp will answer on.
  ( cd "$run/register" && timeout -s KILL 300 sipp -sf "$repo/bench/bridge_register.xml" \
        127.0.0.1:$sip_port -i 127.0.0.1 -p $tech_port -inf "$plan/technicians.csv" \
        -r 100 -l 100 -m $techs -timeout 240s -nostdin -trace_stat -fd 1 > sipp.out 2>&1 ) || true
  registered=$("$server_bin" phones --database-url "sqlite://$data/hotline.db" | grep -c "^t[0-9]" || true)
  echo "level $level: $registered of $techs technicians registered"
  "$server_bin" oncall now --database-url "sqlite://$data/hotline.db" > "$run/oncall.txt"
  ( cd "$run/technicians" && exec "${peer[@]}" timeout -s KILL $((ramp + hold_ms / 1000 + 240)) sipp \
        -sf "$out/technician.xml" -i 127.0.0.1 -p $tech_port -mi 127.0.0.1 -mp $tech_media \
        -nostdin -trace_stat -fd 1 > sipp.out 2>&1 ) &
  technicians=$!
  # Sample about eight of the server's legs: the pool hands out ports upwards from the range's
  # start, four apart, two legs a call, so 8N ports span the calls.
  mask=$(python3 -c "import math; print(2 ** max(2, int(math.log2($level))) - 1)")
  $SUDO tcpdump -i lo -s 64 -w "$run/sample.pcap" \
      "udp and udp[0:2] >= 30000 and udp[0:2] <= 39999 and (udp[0:2] & $mask) = 0 and \
       (udp[2:2] = $caller_media or udp[2:2] = $tech_media)" > /dev/null 2>&1 &
  capture=$!
  # The relay's delay: only the packets carrying a few chosen frames of the speech file, both
  # ways (a few packets a second per call), whole enough to recognise the frame.
  $SUDO tcpdump -i lo -s 80 -w "$run/latency.pcap" \
      "udp and ($signatures) and (port $caller_media or port $tech_media)" > /dev/null 2>&1 &
  latency_capture=$!
  python3 bench/sample_process.py "$server" "$run/process.csv" $table rtp_in rtp_out &
  sampler=$!
  uptime > "$run/uptime"
  ( cd "$run" && "${peer[@]}" timeout -s KILL $((ramp + hold_ms / 1000 + 180)) sipp -sf "$plan/caller.xml" \
        -s helpdesk 127.0.0.1:$sip_port -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp $caller_media \
        -inf "$plan/callers.csv" -r "$level_rate" -l "$level" -m "$level" \
        -timeout $((ramp + hold_ms / 1000 + 120))s -nostdin -trace_rtt -rtt_freq 1 \
        -trace_stat -fd 1 > sipp.out 2>&1 ) || true
  sleep 3  # the technicians' BYEs
  kill "$technicians" 2>/dev/null || true
  kill "$sampler" 2>/dev/null || true
  $SUDO kill "$capture" "$latency_capture" 2>/dev/null || true
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  wait "$capture" "$latency_capture" "$technicians" 2>/dev/null || true
  python3 bench/report.py --bridge --label "$label" --level "$level" --teams "$teams" \
      --database "$data/hotline.db" --media-ports $caller_media $tech_media "$run" \
      | tee -a "$out/results-bridge.csv"
  [[ $data_root == "$out" ]] || rm -rf "${data_root:?}/$label-$level-data"
  sip_port=$((sip_port + 2)); tech_port=$((tech_port + 2))
done
python3 bench/report.py --bridge-table "$out/results-bridge.csv"
echo "raw data: $out"

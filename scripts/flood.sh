#!/usr/bin/env bash
# An INVITE flood from one address while real callers call from another, against `hotline
# serve`: what the flood gets (SIPp's counts), what real callers get, tickets, and the server's
# memory. The quick version runs in `make test` (tests/flood.rs); this one is the big figure.
#
#   scripts/flood.sh [RATE [SECONDS]]     default: 500 INVITEs/s for 60 s from 127.0.0.2
#   HOTLINE_BIN=target/debug/hotline scripts/flood.sh …   (default target/release/hotline)
#
# Real callers: the SIPp caller of `make bench` (tests/sipp/uac_welcome_digits.xml: answer,
# welcome prompt, five RFC 4733 keys, hang-up) from 127.0.0.1, 1 call/s for the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-500}
seconds=${2:-60}
bin=${HOTLINE_BIN:-target/release/hotline}
[[ -x $bin ]] || { echo "build $bin first (cargo build --release)"; exit 1; }

out=$(mktemp -d /tmp/hotline-flood.XXXX)
sip_port=26060
pcaps=/usr/share/sip-tester
sed -e "s#@KEY0@#$pcaps/dtmf_2833_pound.pcap#" -e "s#@KEY1@#$pcaps/dtmf_2833_1.pcap#" \
    -e "s#@KEY2@#$pcaps/dtmf_2833_1.pcap#" -e "s#@KEY3@#$pcaps/dtmf_2833_3.pcap#" \
    -e "s#@KEY4@#$pcaps/dtmf_2833_3.pcap#" -e "s#@HOLD_MS@#1000#" \
    tests/sipp/uac_welcome_digits.xml > "$out/caller.xml"
printf 'SEQUENTIAL\n5550100\n5550101\n' > "$out/callers.csv"

"$bin" serve --sip-listen 127.0.0.1:$sip_port --http-listen 127.0.0.1:0 --data-dir "$out/data" \
    --rtp-ports 40000-49999 > "$out/server.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening\|SIP" "$out/server.log" 2>/dev/null && break; sleep 0.2; done
sleep 1

# RSS of the server every second, for as long as it runs (bounded by the run's length).
( for _ in $(seq $((seconds + 40))); do
    awk '/VmRSS/ {print $2}' /proc/$server/status 2>/dev/null || break; sleep 1; done ) > "$out/rss_kb.txt" &
sampler=$!
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$server/status)

( cd "$out" && sipp -sn uac -s flood 127.0.0.1:$sip_port -i 127.0.0.2 -p 0 -mi 127.0.0.2 -mp 0 \
      -r "$rate" -m $((rate * seconds)) -d 5000 -timeout $((seconds + 30))s -nostdin \
      > flood.out 2>&1 ) &
flood=$!
( cd "$out" && sipp -sf caller.xml -inf callers.csv -s helpdesk 127.0.0.1:$sip_port \
      -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp 0 -r 1 -m "$seconds" -timeout $((seconds + 60))s -nostdin \
      > real.out 2>&1 ) || true
wait $flood || true
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
kill $sampler 2>/dev/null || true

count() { grep -a "$2" "$1" | tail -1 | awk -F'|' '{print $3}' | tr -d ' '; }
tickets=$("$bin" tickets list --database-url "sqlite://$out/data/hotline.db" 2>/dev/null | grep -c "HD-" || true)
refusals=$(grep -a "SIP refusals since start" "$out/server.log" | tail -1 || true)
echo "flood: $rate INVITE/s for $seconds s from 127.0.0.2 ($((rate * seconds)) INVITEs)"
echo "  flood calls successful: $(count "$out/flood.out" 'Successful call'), failed: $(count "$out/flood.out" 'Failed call')"
echo "real callers from 127.0.0.1: successful $(count "$out/real.out" 'Successful call') of $seconds, failed $(count "$out/real.out" 'Failed call')"
echo "tickets: $tickets"
echo "server RSS: before ${rss_before} kB, after ${rss_after} kB, max $(sort -n "$out/rss_kb.txt" | tail -1) kB"
echo "refusal counts: ${refusals:-none logged yet (logged once a minute)}"
echo "raw data: $out"

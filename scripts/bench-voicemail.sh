#!/usr/bin/env bash
# Hang-up to transcript through the real server: SIPp callers key through the bundled menu to a
# voicemail, speak a voicemail of the benchmark (bench/voicemails.tsv, English, said by an MBROLA
# voice, through 8 kHz µ-law), and hang up as it ends; the server records it, transcribes it in
# parts while it is spoken and once more after hang-up (the final pass), with its default
# settings and the real model. Per voicemail, from the SQLite store: the hang-up (the ticket's
# `hangup` event) to the last part's text stored (the draft) and to the final pass's text stored.
#
#   scripts/bench-voicemail.sh [--server PATH] [--out DIR] [--secs 30] [--alone N] [--at-once K]
#                              [--beside LEVEL] [--voice mb-us1] [--config FILE]
#
# --alone N: N voicemails one after another, each placed when the previous one's final text is
# stored (default 10). --at-once K: then K voicemails that start and end together (default 4;
# 0 skips). --secs: how long each voicemail speaks (default 30; the cut falls where it falls, as
# a caller hanging up). --beside LEVEL: LEVEL IVR calls at once beside them all along (the
# capacity bench's callers: speech for 20 s, no key), so the figures are what a helpdesk with
# that many callers in the menu sees; the workers run at nice 19 below the calls.
# --config: extra server configuration (TOML) appended to the bench's.
set -euo pipefail
cd "$(dirname "$0")/.."

server_bin=target/release/hotline
out=""
secs=30
alone=10
at_once=4
beside=0
voice=mb-us1
extra_config=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server_bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --alone) alone=$2; shift 2 ;;
    --at-once) at_once=$2; shift 2 ;;
    --beside) beside=$2; shift 2 ;;
    --voice) voice=$2; shift 2 ;;
    --config) extra_config=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 1 ;;
  esac
done
[[ -x $server_bin ]] || { echo "no server binary at $server_bin" >&2; exit 1; }
for tool in sipp espeak-ng sox; do
  command -v $tool >/dev/null || { echo "$tool missing: scripts/install-deps.sh --test" >&2; exit 1; }
done
[[ -n $out ]] || out=$(mktemp -d /tmp/hotline-voicemail.XXXX)
mkdir -p "$out"
sip_port=25160
data="$out/data"
rm -rf "$data"

# The voicemail: the benchmark's English voicemails in turn, through 8 kHz µ-law, looped to
# `secs` seconds.
mkdir -p "$out/speech"
wavs=()
while IFS=$'\t' read -r language id text _; do
  [[ $language == en ]] || continue
  espeak-ng -v "$voice" -s 140 -w "$out/speech/$id-raw.wav" "$text"
  sox "$out/speech/$id-raw.wav" -r 8000 -c 1 -e u-law -t wav - |
    sox -t wav - -e signed-integer -b 16 "$out/speech/$id.wav"
  wavs+=("$out/speech/$id.wav")
done < <(grep -v '^#' bench/voicemails.tsv)
python3 bench/speech_pcap.py "$out/voicemail.pcap" "$secs" "${wavs[@]}"

keys=/usr/share/sip-tester
# 1 English, 5 other, 3 individual, 2 degraded: P4, a voicemail at once. (No key twice in a row:
# the same pcap twice is the same RFC 4733 event, timestamp and all, which a receiver ignores.)
# The recording instructions last 8.6 s after the last key; a second more for the beep.
sed -e "s#@KEY0@#$keys/dtmf_2833_1.pcap#" -e "s#@KEY1@#$keys/dtmf_2833_5.pcap#" \
    -e "s#@KEY2@#$keys/dtmf_2833_3.pcap#" -e "s#@KEY3@#$keys/dtmf_2833_2.pcap#" \
    -e "s#@SPEECH@#$out/voicemail.pcap#" -e "s#@WAIT_MS@#10000#" \
    -e "s#@HOLD_MS@#$((secs * 1000))#" bench/caller_voicemail.xml > "$out/caller.xml"
printf 'SEQUENTIAL\n5550142\n' > "$out/callers.csv"

cat > "$out/bench.toml" <<'EOF_CONFIG'
[limits]
max_calls = 5000
max_calls_per_source = 5000
new_calls_per_source_per_minute = 1000000
EOF_CONFIG
[[ -z $extra_config ]] || cat "$extra_config" >> "$out/bench.toml"

"$server_bin" serve --config "$out/bench.toml" --sip-listen 127.0.0.1:$sip_port \
    --http-listen 127.0.0.1:0 --data-dir "$data" --rtp-ports 30000-39999 > "$out/server.log" 2>&1 &
server=$!
load=""
cleanup() {
  [[ -z $load ]] || kill "$load" 2>/dev/null || true
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q "answering SIP" "$out/server.log" && break; sleep 0.1; done
grep -q "answering SIP" "$out/server.log" || { cat "$out/server.log" >&2; exit 1; }

if (( beside > 0 )); then
  python3 bench/speech_pcap.py "$out/ivr.pcap" 20 tests/fixtures/speech/*.wav --payload "$out/ivr.ulaw"
  sed -e "s#@PLAY@#rtp_stream=\"$out/ivr.ulaw,1,0\"#" -e "s#@HOLD_MS@#20000#" \
      bench/caller_speech.xml > "$out/ivr.xml"
  mkdir -p "$out/beside"
  ( cd "$out/beside" && exec sipp -sf "$out/ivr.xml" -s helpdesk 127.0.0.1:$sip_port -i 127.0.0.1 \
      -p 0 -mi 127.0.0.1 -mp 40000 -r "$(python3 -c "print($beside / 20)")" -l "$beside" \
      -nostdin -trace_stat -fd 1 > sipp.out 2>&1 ) &
  load=$!
  sleep 25 # the load at its level before the first voicemail
fi

# The finished transcription jobs' count: waits until `n` final passes are stored.
finals() {
  python3 - "$data/hotline.db" <<'EOF_COUNT'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
print(db.execute("SELECT COUNT(*) FROM transcription_jobs WHERE part IS NULL AND status IN ('done', 'failed')").fetchone()[0])
EOF_COUNT
}
wait_finals() {
  local recorded
  recorded=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM tickets WHERE recording_path IS NOT NULL').fetchone()[0])" "$data/hotline.db")
  (( recorded >= $1 )) || { echo "only $recorded of $1 calls left a voicemail: see $out/server.log" >&2; return 1; }
  for _ in $(seq 600); do (( $(finals) >= $1 )) && return 0; sleep 0.5; done
  echo "the final texts did not come within 5 minutes" >&2; return 1
}
caller() { # calls at-once
  ( cd "$out" && sipp -sf "$out/caller.xml" -s helpdesk 127.0.0.1:$sip_port -i 127.0.0.1 -p 0 \
      -mi 127.0.0.1 -mp 46000 -inf "$out/callers.csv" -r 100 -l "$1" -m "$1" \
      -timeout $((secs + 120))s -nostdin > "$out/sipp-$2.out" 2>&1 ) || { cat "$out/sipp-$2.out" >&2; return 1; }
}

done_so_far=0
for i in $(seq "$alone"); do
  caller 1 "alone-$i"
  done_so_far=$((done_so_far + 1))
  wait_finals $done_so_far
done
if (( at_once > 0 )); then
  caller "$at_once" at-once
  done_so_far=$((done_so_far + at_once))
  wait_finals $done_so_far
fi

python3 - "$data/hotline.db" "$alone" "$at_once" "$secs" "$beside" <<'EOF_REPORT' | tee "$out/report.md"
import sqlite3, sys
db_path, alone, at_once, secs, beside = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
rows = db.execute("""
    SELECT t.id, t.recording_duration_ms,
        (SELECT MIN(at) FROM ticket_events WHERE ticket_id = t.id AND kind = 'hangup'),
        (SELECT MAX(finished_at) FROM transcription_jobs WHERE ticket_id = t.id AND part IS NOT NULL),
        (SELECT MAX(finished_at) FROM transcription_jobs WHERE ticket_id = t.id AND part IS NULL),
        (SELECT COUNT(*) FROM transcription_jobs WHERE ticket_id = t.id AND part IS NOT NULL),
        t.transcript IS NOT NULL
    FROM tickets t WHERE t.recording_path IS NOT NULL ORDER BY t.id""").fetchall()

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")

def line(name, group):
    draft = [(d - h) / 1000 for _, _, h, d, _, _, _ in group if h and d]
    final = [(f - h) / 1000 for _, _, h, _, f, _, _ in group if h and f]
    recorded = [r / 1000 for _, r, *_ in group if r]
    parts = sum(p for *_, p, _ in group)
    texts = sum(t for *_, t in group)
    fmt = lambda v: f"{pct(v, 50):.1f} / {pct(v, 95):.1f} / {max(v):.1f} s" if v else "—"
    print(f"| {name} | {len(group)} ({parts} parts, {texts} with text) | "
          f"{sum(recorded) / max(1, len(recorded)):.1f} s | {fmt(draft)} | {fmt(final)} |")

print(f"voicemails of {secs} s; {beside} IVR calls beside")
print()
print("| voicemails | recorded (parts) | recording | hang-up → draft p50 / p95 / max | hang-up → final p50 / p95 / max |")
print("|---|---|---|---|---|")
line("one at a time", rows[:alone])
if at_once:
    line(f"{at_once} at once", rows[alone:alone + at_once])
EOF_REPORT
echo "raw data: $out"

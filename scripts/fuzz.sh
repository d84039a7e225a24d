#!/usr/bin/env bash
# `make fuzz`: runs each cargo-fuzz target (fuzz/) for FUZZ_SECONDS seconds, one after another
# (libFuzzer takes a core), from its seed corpus, and prints executions per target. A crash
# stops the run with the input saved under fuzz/artifacts/TARGET/: turn it into a regression
# test in the main suite, then fix it.
#
#   scripts/fuzz.sh [TARGET ...]      FUZZ_SECONDS=60 by default; all targets by default
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(sip_message sip_stream sdp_answer rtp_telephone_event dialplan_check wav_prompt ct2_header)

rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Seeds: the RFC 4475 torture messages for the SIP targets, the rest under fuzz/seeds/.
seeds_of() {
  case "$1" in
    sip_message|sip_stream) echo "tests/fixtures/rfc4475" ;;
    *) echo "fuzz/seeds/$1" ;;
  esac
}

summary=$(mktemp)
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  log="fuzz/logs/$target.log"
  mkdir -p fuzz/logs
  echo "== $target for ${seconds}s"
  ( cd fuzz && cargo +nightly fuzz run "$target" "../$corpus" "../$(seeds_of "$target")" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 ) > "$log" 2>&1 || {
    echo "!! $target failed: see $log and fuzz/artifacts/$target/"; tail -30 "$log"; exit 1; }
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  printf '%s\t%s s\t%s executions\t%s/s\tcoverage %s\n' "$target" "$seconds" "$execs" "$rate" "$cov" | tee -a "$summary"
done
echo; echo "target	time	executions	rate	edges"; cat "$summary"

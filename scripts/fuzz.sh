#!/usr/bin/env bash
# `make fuzz`: runs each cargo-fuzz target (fuzz/) for FUZZ_SECONDS seconds, one after another
# (libFuzzer takes a core), from its seed corpus, and prints executions per target. A crash
# ends that target with the input saved under fuzz/artifacts/TARGET/ (the others still run;
# the script then exits 1): turn it into a regression test in the main suite, then fix it.
#
#   scripts/fuzz.sh [TARGET ...]      FUZZ_SECONDS=60 by default; all targets by default
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(sip_message sip_stream sdp_answer rtp_telephone_event srtp dialplan_check wav_prompt ct2_header)

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
failed=()
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  log="fuzz/logs/$target.log"
  mkdir -p fuzz/logs
  echo "== $target for ${seconds}s"
  rc=0
  ( cd fuzz && cargo +nightly fuzz run "$target" "../$corpus" "../$(seeds_of "$target")" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 ) > "$log" 2>&1 || rc=$?
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
  rate=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1 || true)
  cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  outcome="no crash"
  if [[ $rc -ne 0 ]]; then
    found=$(grep -a -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //' || true)
    outcome="FAILED (exit $rc): ${found:-see $log}"
    failed+=("$target")
    echo "!! $target failed: see $log"; grep -a -m1 -A2 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" || tail -30 "$log"
  fi
  printf '%s\t%s s\t%s executions\t%s/s\tcoverage %s\t%s\n' "$target" "$seconds" "${execs:--}" "${rate:--}" "${cov:--}" "$outcome" | tee -a "$summary"
done
echo; echo "target	time	executions	rate	edges	outcome"; cat "$summary"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "crashed: ${failed[*]} (inputs under fuzz/artifacts/)"; exit 1
fi

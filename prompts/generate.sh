#!/usr/bin/env bash
# Regenerates every bundled prompt from prompts/texts.tsv (plus the numbers 0–60) with
# espeak-ng's free voices: en-us for English, fr for French. Output: 8 kHz mono 16-bit WAV,
# normalised to -3 dBFS, in prompts/<language>/<name>.wav.
# Needs: espeak-ng, sox (scripts/install-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

speak() { # language voice name text
  mkdir -p "$1"
  espeak-ng -v "$2" -s 145 -w "$tmp/raw.wav" "$4"
  # Trim the synthesiser's leading silence, keep a short tail, and bring it to telephone format.
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$1/$3.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.15 norm -3
}

while IFS=$'\t' read -r name en fr; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  speak en en-us "$name" "$en"
  speak fr fr "$name" "$fr"
done < texts.tsv

for n in $(seq 0 60); do
  speak en en-us "n$n" "$n"
  speak fr fr "n$n" "$n"
done
echo "prompts generated: $(ls en | wc -l) English, $(ls fr | wc -l) French"

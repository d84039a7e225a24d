#!/usr/bin/env bash
# Regenerates every bundled prompt from prompts/texts.tsv (plus the numbers 0–60) with
# espeak-ng's free voices: en-us for English, fr for French. Output: 8 kHz mono 16-bit WAV,
# normalised to -3 dBFS, in prompts/<language>/<name>.wav.
# A row marked `bilingual` (heard before the caller has chosen a language) becomes one file,
# the English text in the English voice then the French text in the French voice, copied to
# both languages: a French sentence read by the English voice is barely understandable.
# `sox -R` makes the dither repeatable, so running the script twice gives identical files.
# Needs: espeak-ng, sox (scripts/install-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

render() { # voice text out.wav
  espeak-ng -v "$1" -s 145 -w "$tmp/raw.wav" "$2"
  # Trim the synthesiser's leading silence, keep a short tail, resample to telephone rate
  # (float in between, so the audio is quantised to 16 bits once, after normalising).
  sox -R "$tmp/raw.wav" -r 8000 -c 1 -e floating-point -b 32 "$3" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.15
}

finish() { # in.wav out.wav
  sox -R "$1" -b 16 -e signed-integer "$2" norm -3
}

speak() { # language voice name text
  mkdir -p "$1"
  render "$2" "$4" "$tmp/one.wav"
  finish "$tmp/one.wav" "$1/$3.wav"
}

while IFS=$'\t' read -r name en fr mode; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [[ "${mode:-}" == bilingual ]]; then
    mkdir -p en fr
    render en-us "$en" "$tmp/en.wav"
    render fr "$fr" "$tmp/fr.wav"
    sox -R "$tmp/en.wav" "$tmp/fr.wav" "$tmp/both.wav"
    finish "$tmp/both.wav" "en/$name.wav"
    cp "en/$name.wav" "fr/$name.wav"
  else
    speak en en-us "$name" "$en"
    speak fr fr "$name" "$fr"
  fi
done < texts.tsv

for n in $(seq 0 60); do
  speak en en-us "n$n" "$n"
  speak fr fr "n$n" "$n"
done

# Tones, not speech: what a caller hears while technicians' phones ring, and music on hold
# (synthesised here, so free of any licence). The ringback follows each language's country
# cadence: North American 440+480 Hz 2 s on 4 s off; French 440 Hz 1.5 s on 3.5 s off.
sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/on.wav" synth 2 sine 440 sine 480 remix 1,2 gain -6
sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/off.wav" trim 0 4
sox -R "$tmp/on.wav" "$tmp/off.wav" "$tmp/ring.wav"
sox -R "$tmp/ring.wav" -b 16 -e signed-integer en/ringback.wav norm -12
sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/on.wav" synth 1.5 sine 440
sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/off.wav" trim 0 3.5
sox -R "$tmp/on.wav" "$tmp/off.wav" "$tmp/ring.wav"
sox -R "$tmp/ring.wav" -b 16 -e signed-integer fr/ringback.wav norm -12
# Music on hold: a slow arpeggio (C major, A minor, F major, G major), soft attack and release.
notes=(261.63 329.63 392.00 329.63 220.00 261.63 329.63 261.63 174.61 220.00 261.63 220.00 196.00 246.94 293.66 246.94)
parts=()
for i in "${!notes[@]}"; do
  sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/note$i.wav" synth 0.5 sine "${notes[$i]}" fade t 0.05 0.5 0.2 gain -8
  parts+=("$tmp/note$i.wav")
done
sox -R "${parts[@]}" "$tmp/music.wav"
sox -R "$tmp/music.wav" -b 16 -e signed-integer en/music_on_hold.wav norm -12
cp en/music_on_hold.wav fr/music_on_hold.wav
echo "prompts generated: $(ls en | wc -l) English, $(ls fr | wc -l) French"

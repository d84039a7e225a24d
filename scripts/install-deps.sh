#!/usr/bin/env bash
# Installs the Debian packages Hotline needs, only those missing, so `make run` and `make test`
# work on a fresh machine with nothing but the Rust toolchain.
#   scripts/install-deps.sh          build and run: C toolchain for whisper.cpp, espeak-ng/sox for prompts
#   scripts/install-deps.sh --test   also SIPp, sipvicious, Chromium and MBROLA voices for the tests and benchmarks
#   scripts/install-deps.sh --print-contrib-source
#                                    print the apt source the MBROLA voices would need, write nothing
# HOTLINE_APT_DIR (default /etc/apt) is where apt's sources are read, for testing the parsing.
set -euo pipefail

APT_DIR="${HOTLINE_APT_DIR:-/etc/apt}"
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
codename="${HOTLINE_CODENAME:-$codename}"

# The machine's own Debian archive source (not -security), as "URIS<tab>SUITES<tab>SIGNED-BY":
# a company machine often points at an internal mirror, which must be kept. deb822
# (sources.list.d/debian.sources, Debian 12's default) first, then one-line sources.list.
debian_source() {
  local deb822="$APT_DIR/sources.list.d/debian.sources" oneline="$APT_DIR/sources.list"
  if [[ -f $deb822 ]]; then
    # Stanzas are separated by blank lines; comment lines are skipped. A Signed-By that embeds
    # the key on continuation lines (no path) is left out: apt then uses its trusted keyrings.
    awk -v suite="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; signed = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (match(line, /^Types:[ \t]*/)) types = substr(line, RLENGTH + 1)
          else if (match(line, /^URIs:[ \t]*/)) uris = substr(line, RLENGTH + 1)
          else if (match(line, /^Suites:[ \t]*/)) suites = substr(line, RLENGTH + 1)
          else if (match(line, /^Signed-By:[ \t]*/)) signed = substr(line, RLENGTH + 1)
        }
        if (types !~ /(^|[ \t])deb([ \t]|$)/) next
        n = split(suites, s, /[ \t]+/)
        keep = ""
        for (j = 1; j <= n; j++)
          if (s[j] == suite || s[j] == suite "-updates") keep = keep (keep == "" ? "" : " ") s[j]
        if (keep != "") { print uris "\t" keep "\t" signed; exit }
      }' "$deb822"
    return
  fi
  if [[ -f $oneline ]]; then
    # deb [arch=amd64 signed-by=/path] URI SUITE COMPONENT…
    awk -v suite="$codename" '
      $1 != "deb" { next }
      {
        signed = ""; f = 2
        if ($2 ~ /^\[/) {
          while (f <= NF) {
            opt = $f; gsub(/[\[\]]/, "", opt)
            if (opt ~ /^signed-by=/) signed = substr(opt, 11)
            if ($f ~ /\]$/) break
            f++
          }
          f++
        }
        uri = $f; s = $(f + 1)
        if (s != suite && s != suite "-updates") next
        if (first == "") { first = uri; sig = signed }
        if (uri == first && index(" " suites " ", " " s " ") == 0)
          suites = suites (suites == "" ? "" : " ") s
      }
      END { if (first != "") print first "\t" suites "\t" sig }' "$oneline"
  fi
}

# The deb822 source adding contrib and non-free from the machine's Debian archive.
contrib_source() {
  local found uris suites signed
  found=$(debian_source)
  if [[ -z $found ]]; then
    echo "install-deps: no Debian source for ${codename} in ${APT_DIR}/sources.list.d/debian.sources or ${APT_DIR}/sources.list;" \
      "enable the contrib and non-free components by hand for the MBROLA voices" >&2
    return 1
  fi
  IFS=$'\t' read -r uris suites signed <<<"$found"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: contrib non-free\n' "$uris" "$suites"
  [[ -n $signed ]] && printf 'Signed-By: %s\n' "$signed"
  return 0
}

if [[ "${1:-}" == "--print-contrib-source" ]]; then
  contrib_source
  exit
fi

packages=(cmake clang libclang-dev pkg-config espeak-ng sox python3-pip)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(sip-tester sipvicious baresip-core tcpdump nftables linux-perf chromium chromium-driver mbrola mbrola-fr1 mbrola-fr4 mbrola-us1 mbrola-us2 postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

# MBROLA voices live in Debian's contrib/non-free components; they only make test speech.
if printf '%s\n' "${missing[@]}" | grep -q '^mbrola'; then
  if ! grep -rqs "non-free" "$APT_DIR/sources.list" "$APT_DIR/sources.list.d/"; then
    source_text=$(contrib_source)
    echo "$source_text" | $SUDO tee "$APT_DIR/sources.list.d/hotline-contrib.sources" >/dev/null
  fi
fi

echo "Installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

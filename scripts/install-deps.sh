#!/usr/bin/env bash
# Installs the Debian packages Hotline needs, only those missing, so `make run` and `make test`
# work on a fresh machine with nothing but the Rust toolchain.
#   scripts/install-deps.sh          build and run: C toolchain for whisper.cpp, espeak-ng/sox for prompts
#   scripts/install-deps.sh --test   also SIPp, Chromium and MBROLA voices for the tests and benchmarks
set -euo pipefail

packages=(cmake clang libclang-dev pkg-config espeak-ng sox python3-pip)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(sip-tester chromium chromium-driver mbrola mbrola-fr1 mbrola-fr4 mbrola-us1 mbrola-us2)
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
  if ! grep -rqs "non-free" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    echo "Types: deb
URIs: http://deb.debian.org/debian
Suites: ${codename} ${codename}-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $SUDO tee /etc/apt/sources.list.d/hotline-contrib.sources >/dev/null
  fi
fi

echo "Installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# The Debian packages higgs-audio needs, in one place, and their installation:
#   scripts/system-packages.sh build   what building and running the addon needs (`higgs-audio setup`)
#   scripts/system-packages.sh all     + the tools the tests and the image rehearsal run (bootstrap.sh)
# Installs what is missing with apt-get when it may (root, or sudo without a password), else names
# the packages and the command and exits 3. HIGGS_NO_SYSTEM_PACKAGES=1: only check, never install.
# Elsewhere than Debian (no dpkg-query) it says what to install by other names and exits 0: the
# build then finds the libraries or says which one it missed.
# A fresh Debian 12 with only Node 20 has none of these (no make, no ninja, no file); checked in a
# minimal debootstrap root.
set -euo pipefail

# libtorch is not among them: it comes from torch's wheel (python3 and python3-venv carry it), and
# Debian's libtorch-dev must not be beside it (CMakeLists.txt refuses to link a second libtorch).
# ninja-build is the build program (cmake-js picks it; make for anything run by hand).
# libsndfile1-dev, libsoxr-dev and librubberband-dev are the audio-file module: read/write,
# resampling, and time-stretching for a request's speed.
BUILD=(
  libsndfile1-dev libsoxr-dev librubberband-dev nlohmann-json3-dev
  cmake g++ make ninja-build pkg-config python3 python3-venv
)
# sox, libsox-fmt-mp3, opus-tools and file are test tools: independent readers of the files we
# write. tini is the image's PID 1, which the image report and its rehearsal lay out (scripts/docker).
# chromium is the real browser test/server/playground.test.ts drives (puppeteer-core) on serve's page.
TEST=(sox libsox-fmt-mp3 opus-tools file tini chromium)

log() { printf '[system-packages] %s\n' "$*" >&2; }

case ${1:-} in
  build) wanted=("${BUILD[@]}") ;;
  all) wanted=("${BUILD[@]}" "${TEST[@]}") ;;
  *) log "usage: scripts/system-packages.sh build|all"; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null; then
  log "not a Debian system: install by your system's names CMake >= 3.18, a C++20 compiler, make or"
  log "ninja, pkg-config, libsndfile, libsoxr, librubberband, nlohmann-json, and Python 3 with venv"
  exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if [[ ${HIGGS_NO_SYSTEM_PACKAGES:-} != 1 ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(none)
  fi
fi
if [[ ${HIGGS_NO_SYSTEM_PACKAGES:-} == 1 || ${as_root[0]:-} == none ]]; then
  log "missing Debian packages: ${missing[*]}"
  log "install them with: sudo apt-get install -y ${missing[*]}"
  log "(without sudo, as root: apt-get install -y ${missing[*]}), then run the set-up again as yourself"
  exit 3
fi
log "installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
# debconf's note about apt-utils is noise on a minimal system.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  2> >(grep -v 'apt-utils is not installed' >&2)

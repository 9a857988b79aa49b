#!/usr/bin/env bash
# One idempotent set-up for `npm run demo`, `npm test` and CI: Debian packages, npm ci, the native
# build (only when its sources changed), the TypeScript build and the tiny test fixtures.
# Each step is skipped when its output is up to date, so running it again costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# ---- system packages ----------------------------------------------------------------------------
# Everything the build, the demo and the tests run, named here: a fresh Debian 12 with only Node 20
# has none of it (no make, no ninja, no file). Checked in a minimal debootstrap root.
# libopenblas0-pthread is required: without it libtorch falls back to reference BLAS (~40x slower).
# ninja-build is the build program (cmake-js picks it; make for anything run by hand).
# sox, libsox-fmt-mp3, opus-tools and file are test tools: independent readers of the files we write.
APT_PACKAGES=(
  libtorch-dev libopenblas0-pthread libsndfile1-dev libsoxr-dev nlohmann-json3-dev
  cmake g++ make ninja-build pkg-config
  sox libsox-fmt-mp3 opus-tools file
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- npm dependencies -----------------------------------------------------------------------------
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  # --ignore-scripts: the native build below is the one build (npm would run the install hook too).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# ---- native build (CMake through cmake-js), when any native source changed ------------------------
tree_hash() { find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1; }
mkdir -p build
native_hash=$(tree_hash CMakeLists.txt native package-lock.json)
if [[ ! -f build/Release/higgs_audio.node || "$(cat build/.native-hash 2>/dev/null)" != "$native_hash" ]]; then
  log "building the native core, addon, bench and tests (2 jobs; the first build takes a few minutes)"
  npx cmake-js build --directory . --out build --parallel 2 >build/native-build.log 2>&1 || {
    tail -n 60 build/native-build.log >&2
    log "native build failed; full log: build/native-build.log"
    exit 1
  }
  echo "$native_hash" >build/.native-hash
fi

# ---- TypeScript build -------------------------------------------------------------------------------
ts_hash=$(tree_hash lib tsconfig.json package-lock.json)
if [[ ! -f dist/lib/index.js || "$(cat dist/.ts-hash 2>/dev/null)" != "$ts_hash" ]]; then
  log "compiling TypeScript"
  npx tsc -p tsconfig.json
  echo "$ts_hash" >dist/.ts-hash
fi

# ---- tiny random checkpoints and tokenizer (deterministic; the script skips itself when current) --
node scripts/fixtures/make-tiny.mjs test/fixtures/tiny

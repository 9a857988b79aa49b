#!/usr/bin/env bash
# One idempotent set-up for `npm run demo`, `npm test` and CI: Debian packages, npm ci, torch's
# libtorch in a project-local Python environment, the native build (only when its sources or
# that libtorch changed), the TypeScript build and the tiny test fixtures.
# Each step is skipped when its output is up to date, so running it again costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# ---- system packages (scripts/system-packages.sh names them: the build's and the tests') ----------
bash scripts/system-packages.sh all || { log "set-up needs the Debian packages named above"; exit 1; }

# ---- npm dependencies -----------------------------------------------------------------------------
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  # --ignore-scripts: the native build below is the one build (npm would run the install hook too).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# ---- libtorch: torch's own, in .venv (scripts/python-env.sh; from the local wheelhouse if any) -------
TORCH_DIR=$(bash scripts/python-env.sh cpu)

# ---- native build (CMake through cmake-js), when any native source or the libtorch changed -------
tree_hash() { find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1; }
mkdir -p build
native_hash=$( (tree_hash CMakeLists.txt native package-lock.json scripts/build-native.sh scripts/python-env.sh; cat "$TORCH_DIR/TorchConfigVersion.cmake") | sha256sum | cut -d' ' -f1)
if [[ ! -f build/Release/higgs_audio.node || "$(cat build/.native-hash 2>/dev/null)" != "$native_hash" ]]; then
  log "building the native core, addon, bench and tests (2 jobs; the first build takes a few minutes)"
  HIGGS_TORCH_DIR="$TORCH_DIR" bash scripts/build-native.sh cpu >build/native-build.log 2>&1 || {
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

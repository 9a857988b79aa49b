#!/usr/bin/env bash
# Lays out the runtime stage of Dockerfile.runpod.optimized under ROOT, file for file: the
# Dockerfile's builder runs this and its runtime stage copies ROOT over the base image, and
# `npm run image:report` and the rehearsal (scripts/docker/rehearse-runtime.sh) run the same here.
#
#   scripts/docker/assemble-runtime.sh ROOT
#
#   ROOT/usr/local/bin/node        HIGGS_NODE_BIN, else the node binary running this script (no npm):
#                                  in the builder that is the image's Node; image:report passes
#                                  the same release (scripts/fetch-node.sh)
#   ROOT/usr/bin/tini              PID 1: forwards SIGTERM to node, reaps children
#   ROOT/opt/higgs/lib             the CUDA addon's shared-library closure, cut as lib-cuts.tsv says
#   ROOT/opt/higgs/*.sh            check-libs.sh, size-budget.sh, runtime-user.sh: the image's own steps
#   ROOT/app                       package.json, bin/, dist/lib/, production node_modules, the addon
#
# Needs what `npm run build:cuda` and `npm run build:ts` made: build-cuda/Release/higgs_audio.node
# (HIGGS_ADDON names another) and dist/lib; the CUDA wheels of .venv-cuda for the closure.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${1:?usage: scripts/docker/assemble-runtime.sh ROOT}
addon=${HIGGS_ADDON:-build-cuda/Release/higgs_audio.node}
log() { printf '[assemble-runtime] %s\n' "$*" >&2; }

[[ -f $addon ]] || { log "no addon at $addon (npm run build:cuda)"; exit 1; }
[[ -f dist/lib/index.js ]] || { log "no dist/lib (npm run build:ts)"; exit 1; }
tini=$(command -v tini || true)
[[ -n $tini ]] || { log "tini is not installed (apt-get install tini)"; exit 1; }

rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/opt/higgs" "$root/app/build/Release"

# The libraries, resolved from the CUDA wheels exactly as the addon was linked against them.
torch_dir=$(bash scripts/python-env.sh cuda)
site=$(cd "$torch_dir/../../../.." && pwd)
lib_path=$site/torch/lib
for dir in "$site"/nvidia/*/lib; do lib_path+=:$dir; done
LD_LIBRARY_PATH=$lib_path bash scripts/docker/collect-libs.sh "$root/opt/higgs/lib" "$addon" >&2
install -m 0755 scripts/docker/check-libs.sh scripts/docker/size-budget.sh scripts/docker/runtime-user.sh "$root/opt/higgs/"

node_bin=${HIGGS_NODE_BIN:-$(command -v node)}
[[ -x $node_bin ]] || { log "no node binary at $node_bin"; exit 1; }
install -m 0755 "$(readlink -f "$node_bin")" "$root/usr/local/bin/node"
log "node $("$root/usr/local/bin/node" --version) in the runtime stage"
install -m 0755 "$tini" "$root/usr/bin/tini"

# The app: what the worker reads at run time, and the production dependencies as the lock pins them.
app=$root/app
cp package.json package-lock.json "$app/"
cp -r bin "$app/bin"
mkdir -p "$app/dist"
cp -r dist/lib "$app/dist/lib"
install -m 0755 "$addon" "$app/build/Release/higgs_audio.node"
log "npm ci --omit=dev in $app"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
rm -f "$app/package-lock.json"
log "assembled $(du -sb "$root" | cut -f1) bytes under $root"

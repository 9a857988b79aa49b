#!/usr/bin/env bash
# The image size budget of the RunPod worker: RunPod's container limit is 5 GB (fail above it);
# the deployment guide's target is ~3.1 GB (warn above it). Sizes are decimal (10^9 bytes), as
# `docker images` prints them and as the limit is stated.
#
# Inside the image (what goes into the final stage, part by part):
#   docker run --rm --user 0 --entrypoint /opt/higgs/size-budget.sh IMAGE
#   (the Dockerfile also runs it as the last build step of the runtime stage: a build over the
#    limit fails there; --build-arg SIZE_BUDGET_CHECK=0 turns that off)
# On the host, from Docker's own numbers (needs a working Docker engine):
#   scripts/docker/size-budget.sh --image IMAGE
#
# Environment: LIMIT_BYTES (5000000000), TARGET_BYTES (3100000000); for the in-image mode ROOT (/),
# APP_DIR ($ROOT/app), LIB_DIR ($ROOT/opt/higgs/lib), NODE_BIN ($ROOT/usr/local/bin/node).
set -euo pipefail

LIMIT_BYTES=${LIMIT_BYTES:-5000000000}
TARGET_BYTES=${TARGET_BYTES:-3100000000}

human() { awk -v b="$1" 'BEGIN { if (b >= 1e9) printf "%.2f GB", b / 1e9; else printf "%.1f MB", b / 1e6 }'; }
row() { printf '  %-44s %12s\n' "$1" "$(human "$2")"; }

verdict() {  # total-bytes
  local total=$1
  row "TOTAL" "$total"
  if ((total > LIMIT_BYTES)); then
    echo "size-budget: FAIL: $(human "$total") is over the $(human "$LIMIT_BYTES") RunPod limit" >&2
    return 1
  fi
  if ((total > TARGET_BYTES)); then
    echo "size-budget: WARN: $(human "$total") is over the $(human "$TARGET_BYTES") target (under the limit)" >&2
  else
    echo "size-budget: OK: $(human "$total") (target $(human "$TARGET_BYTES"), limit $(human "$LIMIT_BYTES"))"
  fi
}

# Apparent size: what the files hold, which is what a layer stores. -x keeps to the image's own
# filesystem (no /proc, /sys, /dev or a mounted /runpod-volume).
# du still prints a total when some folder is unreadable (run as root for exact numbers).
bytes() {
  local out=
  [[ -e $1 ]] && out=$(du -sxb "$1" 2>/dev/null || true)
  out=${out%%$'\t'*}
  echo "${out:-0}"
}

if [[ ${1:-} == --image ]]; then
  image=${2:?usage: $0 --image IMAGE}
  command -v docker >/dev/null || { echo "size-budget: docker is not installed" >&2; exit 2; }
  size=$(docker image inspect --format '{{.Size}}' "$image") || { echo "size-budget: cannot inspect $image" >&2; exit 2; }
  echo "size-budget: $image (docker image inspect; uncompressed)"
  echo "largest layers (docker history):"
  docker history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$image" |
    awk -F'\t' '$1 != "0B" { printf "  %10s  %.90s\n", $1, $2 }' | head -n 12
  verdict "$size"
  exit $?
fi

ROOT=${ROOT:-/}
ROOT=${ROOT%/}
APP_DIR=${APP_DIR:-$ROOT/app}
LIB_DIR=${LIB_DIR:-$ROOT/opt/higgs/lib}
NODE_BIN=${NODE_BIN:-$ROOT/usr/local/bin/node}

total=$(bytes "${ROOT:-/}")
app=0
echo "size-budget: contents of the final stage"
echo "app ($APP_DIR):"
for part in dist bin node_modules build package.json; do
  b=$(bytes "$APP_DIR/$part")
  app=$((app + b))
  row "$part" "$b"
done
if [[ -d $APP_DIR/node_modules ]]; then
  echo "largest node_modules packages:"
  find "$APP_DIR/node_modules" -mindepth 1 -maxdepth 2 -type d \( -path '*/@*/*' -o ! -name '@*' \) \
    ! -path '*/.bin' ! -path '*/.bin/*' -prune -exec du -sxb {} + 2>/dev/null |
    sort -rn | head -n 5 | while IFS=$'\t' read -r b p; do row "  ${p#"$APP_DIR"/node_modules/}" "$b"; done
fi
libs=$(bytes "$LIB_DIR")
echo "native libraries ($LIB_DIR):"
if [[ -d $LIB_DIR ]]; then
  find "$LIB_DIR" -maxdepth 1 -type f -printf '%s\t%f\n' | sort -rn | head -n 15 |
    while IFS=$'\t' read -r b name; do row "  $name" "$b"; done
fi
row "all native libraries" "$libs"
node=$(bytes "$NODE_BIN")
row "node ($NODE_BIN)" "$node"
base=$((total - app - libs - node))
((base < 0)) && base=0
row "base image and the rest" "$base"
verdict "$total"

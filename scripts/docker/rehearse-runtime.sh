#!/usr/bin/env bash
# A rehearsal of the image's runtime stage without Docker. The tree that
# scripts/docker/assemble-runtime.sh laid out (build-cuda/image-root; `npm run image:report` makes
# it) is copied over a minimal Debian 12 root, trimmed as Docker's debian:bookworm-slim is, and
# the image's own steps run in it: runtime-user.sh, check-libs.sh --load, then the worker's
# one-shot RunPod test input as uid 10001, on the CPU, with the tiny model on a read-only mount
# and LD_LIBRARY_PATH=/opt/higgs/lib alone: the CUDA addon, its collected libraries (stubs
# included) and nothing from this machine.
#
#   scripts/docker/rehearse-runtime.sh            (as root: debootstrap, chroot and mounts)
#   scripts/docker/rehearse-runtime.sh --base     only make the base and print its size (bytes)
#
# The base is made once (debootstrap --variant=minbase bookworm; HIGGS_DEBIAN_MIRROR, default
# http://deb.debian.org/debian) and kept in build-cuda/rehearsal-base. The environment of the run
# is the final stage's ENV, read from the Dockerfile, with HIGGS_DEVICE=cpu and the model paths
# of the rehearsal on top.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[rehearse-runtime] %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "needs root (debootstrap, chroot, mount)"; exit 1; }

base=build-cuda/rehearsal-base
root=build-cuda/rehearsal-root
image=build-cuda/image-root
mirror=${HIGGS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# ---- the base: minimal Debian 12, slimmed as the official -slim images are ----------------------
if [[ ! -f $base/.higgs-base-ok ]]; then
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  rm -rf "$base"
  log "debootstrap --variant=minbase bookworm $base ($mirror)"
  debootstrap --variant=minbase bookworm "$base" "$mirror" >"build-cuda/rehearsal-debootstrap.log" 2>&1 ||
    { tail -n 30 build-cuda/rehearsal-debootstrap.log >&2; log "debootstrap failed"; exit 1; }
  # What the -slim images leave out (documentation, manuals, translations) and the apt caches.
  find "$base/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$base/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$base"/usr/share/{man,info,groff,lintian,linda}/* "$base"/usr/share/locale/* \
    "$base"/var/cache/apt/* "$base"/var/lib/apt/lists/* "$base"/var/cache/debconf/*-old "$base"/var/log/*
  touch "$base/.higgs-base-ok"
fi
if [[ ${1:-} == --base ]]; then
  du -sxb --exclude=.higgs-base-ok "$base" | cut -f1
  exit 0
fi

[[ -x $image/usr/local/bin/node ]] || { log "no assembled runtime stage in $image (npm run image:report)"; exit 1; }

# ---- the image: the base, the assembled tree over it, the user --------------------------------
cleanup() {
  for m in "$root/models" "$root/dev" "$root/proc"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$root"
cp -a "$base" "$root"
cp -al "$image/." "$root/" # hard links: the 2.6 GB of libraries are not copied twice
chroot "$root" /opt/higgs/runtime-user.sh
install -m 0644 test_input.json "$root/tmp/test_input.json"

# The tiny model and codec, read-only even for root (a RunPod volume may be mounted so).
mkdir -p "$root/models/model" "$root/models/codec"
cp -r test/fixtures/tiny/hf/. "$root/models/model/"
cp -r test/fixtures/goldens/codec/. "$root/models/codec/"
mount --bind "$root/models" "$root/models"
mount -o remount,bind,ro "$root/models"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

# ---- the image's checks, then the worker as uid 10001 ---------------------------------------------
mapfile -t image_env < <(node -e '
  const text = require("fs").readFileSync("Dockerfile.runpod.optimized", "utf8").replace(/\\\n/g, " ");
  const final = text.split(/^FROM /m).at(-1);
  for (const line of final.split("\n").filter((l) => /^ENV /.test(l)))
    for (const m of line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) console.log(`${m[1]}=${m[2].replace(/^"|"$/g, "")}`);')
((${#image_env[@]})) || { log "no ENV in the final stage of Dockerfile.runpod.optimized"; exit 1; }
# As the Dockerfile's RUN does it: root, the final stage's environment.
chroot "$root" /usr/bin/env -i "${image_env[@]}" PATH=/usr/local/bin:/usr/bin:/bin \
  /opt/higgs/check-libs.sh /app/build/Release/higgs_audio.node --dir /opt/higgs/lib --load /usr/local/bin/node >&2
run_env=("${image_env[@]}" HOME=/home/higgs PATH=/usr/local/bin:/usr/bin:/bin HIGGS_DEVICE=cpu HIGGS_DTYPE=float32
  HIGGS_MODEL_DIR=/models/model HIGGS_CODEC_DIR=/models/codec HIGGS_VOICES_DIR=/models/voices)
log "worker --test-input as uid $(chroot "$root" id -u higgs) (LD_LIBRARY_PATH from the image: $(printf '%s\n' "${image_env[@]}" | sed -n 's/^LD_LIBRARY_PATH=//p'))"
uid=$(chroot "$root" id -u higgs) gid=$(chroot "$root" id -g higgs) # as runtime-user.sh made them
chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i "${run_env[@]}" /bin/sh -c \
  'cd /app && exec /usr/bin/tini -s -- node bin/higgs-audio.js worker --test-input /tmp/test_input.json' \
  >build-cuda/rehearsal-result.json 2>build-cuda/rehearsal-worker.log ||
  { tail -n 40 build-cuda/rehearsal-worker.log >&2; log "the worker failed (log: build-cuda/rehearsal-worker.log)"; exit 1; }

# The result: a completed job whose audio is a WAV file.
RUN_UID=$uid node -e '
  const r = JSON.parse(require("fs").readFileSync("build-cuda/rehearsal-result.json", "utf8"));
  const audio = Buffer.from(r.output?.audio_base64 ?? "", "base64");
  if (r.status !== "COMPLETED" || audio.subarray(0, 4).toString() !== "RIFF") { console.error("[rehearse-runtime] unexpected result:", JSON.stringify(r).slice(0, 400)); process.exit(1); }
  console.log(`rehearse-runtime: OK: ${r.status}, ${audio.length} bytes of WAV, as uid ${process.env.RUN_UID} in a minimal Debian 12 root with only /opt/higgs/lib`);'

#!/usr/bin/env bash
# Proves that a library user's install works on a FRESH minimal Debian 12 that has only Node 20:
# `npm install` of the packed package, then `npx higgs-audio setup` (Debian packages with apt-get,
# torch from pip into the per-user folder, the addon built with cmake-js), then speech with the
# tiny model through a program that imports 'higgs-audio'. Checks, one line each:
#   install      npm install ./higgs-audio-*.tgz into an empty project succeeds
#   setup (user) as uid 10001 without sudo: exit 1, [E_SETUP], every missing package named
#   setup (root) as root: exit 0, stdout is the addon's path (the Debian packages come from the mirror)
#   generate     the program writes a WAV: a RIFF/WAVE header and more than 44 bytes
# How: the debootstrap --variant=minbase bookworm base of scripts/docker/rehearse-runtime.sh
# (build-cuda/rehearsal-base, made by its --base when missing) is copied to
# build/setup-rehearsal/root; this host's node and npm are copied in (nothing else of the host:
# no Debian build package). The chroot gets what a user's machine has for the network and pip:
# resolv.conf, pip's configuration files, the wheelhouse folders (read-only) and PIP_* variables,
# /proc, /sys and /dev; everything is unmounted on exit. Logs: build/setup-rehearsal/logs/.
#
#   npx tsc -p tsconfig.json && scripts/rehearse-setup.sh      (as root; several minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$repo/build/setup-rehearsal
root=$work/root
logs=$work/logs
log() { printf '[rehearse-setup] %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "needs root (debootstrap, chroot, mount)"; exit 1; }
[[ -f dist/lib/index.js ]] || { log "no dist/: run npx tsc -p tsconfig.json first"; exit 1; }

failed=0
check() { # NAME OK(0|1) DETAIL
  printf 'rehearse-setup: %s: %s%s\n' "$1" "$([[ $2 == 0 ]] && echo ok || echo FAILED)" "${3:+ ($3)}"
  [[ $2 == 0 ]] || failed=$((failed + 1))
}
started=$SECONDS lap_at=$SECONDS timings=()
lap() { timings+=("$1 $((SECONDS - lap_at)) s"); lap_at=$SECONDS; }
mounts_under_root() { findmnt -rn -o TARGET | grep -E "^$root(/|$)" | sort -r || true; }
cleanup() { mounts_under_root | while read -r m; do umount -l "$m" || true; done; }
trap cleanup EXIT
cleanup
# rm -rf would walk into a bind mount left over (the host's /dev, the wheelhouse): never.
[[ -z $(mounts_under_root) ]] || { log "mounts are left under $root"; exit 1; }
rm -rf "$root" "$logs"
mkdir -p "$logs"
lap clean

# ---- the root: the minimal base, Node 20 and npm as the nodejs.org tarball lays them out --------
bash scripts/docker/rehearse-runtime.sh --base >/dev/null
lap base
cp -a build-cuda/rehearsal-base "$root"
install -D -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" useradd -m -u 10001 -U -s /bin/bash user # a user without sudo (sudo is not even there)
chroot "$root" dpkg-query -W -f='${Package}\n' | sort >"$logs/packages-before.txt"

# ---- what a user's machine has: DNS, pip's configuration and wheelhouse, /proc /sys /dev ---------
bind_ro() { # SOURCE [TARGET]: a read-only bind mount at the same path in the root
  local target=$root${2:-$1}
  if [[ -d $1 ]]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; touch "$target"; fi
  mount --bind "$1" "$target" && mount -o remount,bind,ro "$target"
}
bind_ro /etc/resolv.conf
# pip's configuration files that exist here (global and user; not this host's own Python's site).
mapfile -t pip_files < <(pip config list -v 2>/dev/null | sed -n "s/^For variant '\(global\|user\)', will try loading '\(.*\)'$/\2/p")
for f in "${pip_files[@]}"; do [[ -f $f ]] && bind_ro "$f"; done
# What pip's settings name, from the files above and PIP_* alike: find-links folders, file://
# indexes (the whole folder: its pages link to ../../files), constraints files.
mapfile -t pip_env < <(env | grep '^PIP_' || true)
for d in $(pip config list 2>/dev/null | sed -n "s/^[^=]*\.\(find-links\|index-url\|extra-index-url\|constraint\)='\(.*\)'$/\1 \2/p" |
  while read -r key values; do for v in $values; do
    case $key in find-links | constraint) echo "$v" ;; *) [[ $v != file://* ]] || dirname "${v#file://}" ;; esac
  done; done | sort -u); do
  [[ -e $d ]] && bind_ro "$d"
done
# The sandbox's egress proxy signs TLS with its own CA: Node gets it as an extra CA, kept apart
# from Debian's bundle path so ca-certificates (if anything installed it) would not be shadowed.
node_ca=()
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then bind_ro "$NODE_EXTRA_CA_CERTS" /run/host-ca.crt; node_ca=(NODE_EXTRA_CA_CERTS=/run/host-ca.crt); fi
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --bind /dev "$root/dev" && mount --make-private "$root/dev" # nothing below propagates to the host
mount --bind /dev/pts "$root/dev/pts" # apt's "Can not write log (Is /dev/pts mounted?)" otherwise

path=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
as_root() { chroot "$root" /usr/bin/env -i HOME=/root USER=root "$path" "${node_ca[@]}" "${pip_env[@]}" /bin/bash -c "cd /srv/app && $1"; }
as_user() { chroot --userspec=10001:10001 "$root" /usr/bin/env -i HOME=/home/user USER=user "$path" "${node_ca[@]}" "${pip_env[@]}" /bin/bash -c "cd /srv/app && $1"; }
lap root

# ---- install: the packed package into an empty project -----------------------------------------
mkdir -p "$root/srv/app"
npm pack --silent --pack-destination "$root/srv/app" >"$logs/pack.log" 2>&1 || { cat "$logs/pack.log" >&2; exit 1; }
tarball=$(cd "$root/srv/app" && ls higgs-audio-*.tgz)
echo '{ "name": "app", "private": true, "type": "module" }' >"$root/srv/app/package.json"
as_root "npm install ./$tarball --no-audit --no-fund" >"$logs/npm-install.log" 2>&1 && s=0 || s=$?
as_root "node --input-type=module -e \"const m = await import('higgs-audio'); if (typeof m.HiggsAudio !== 'function') process.exit(1)\"" >>"$logs/npm-install.log" 2>&1 && i=0 || i=$?
check install $((s | i)) "$tarball, npm exit $s, import exit $i"
lap install

# ---- setup as a user without root or sudo: names the packages, fails with E_SETUP ---------------
as_user "npx higgs-audio setup" >"$logs/setup-user.out" 2>"$logs/setup-user.err" && s=0 || s=$?
mapfile -t build_pkgs < <(sed -n '/^BUILD=(/,/^)/p' scripts/system-packages.sh | sed '1d;$d' | tr -s ' ' '\n' | grep .)
unnamed=()
for p in "${build_pkgs[@]}"; do grep -qF -- " $p" "$logs/setup-user.err" || unnamed+=("$p"); done
grep -q '^higgs-audio: \[E_SETUP\]' "$logs/setup-user.err" && e=0 || e=1
check 'setup (user)' $(((s == 1 && e == 0 && ${#unnamed[@]} == 0) ? 0 : 1)) \
  "exit $s, E_SETUP $([[ $e == 0 ]] && echo yes || echo no), ${#build_pkgs[@]} packages named$( ((${#unnamed[@]})) && echo ", NOT named: ${unnamed[*]}")"
lap setup-user

# ---- setup as root: apt-get, torch into ~/.local/share/higgs-audio, the build ---------------------
as_root "npx higgs-audio setup" >"$logs/setup-root.out" 2>"$logs/setup-root.err" && s=0 || s=$?
addon=/srv/app/node_modules/higgs-audio/build/Release/higgs_audio.node
chroot "$root" dpkg-query -W -f='${Package}\n' | sort | comm -13 "$logs/packages-before.txt" - >"$logs/apt-installed.txt"
[[ -f $root/var/log/apt/history.log ]] && cp "$root/var/log/apt/history.log" "$logs/apt-history.log"
check 'setup (root)' $(((s == 0) && ($(wc -l <"$logs/setup-root.out") == 1) ? 0 : 1)) \
  "exit $s, stdout: $(tr '\n' ' ' <"$logs/setup-root.out")$([[ $(cat "$logs/setup-root.out") == "$addon" ]] || echo "(expected $addon)"), $(grep -o 'done in [0-9]* s' "$logs/setup-root.err" || tail -n 4 "$logs/setup-root.err" | tr '\n' ' '), $(wc -l <"$logs/apt-installed.txt") Debian packages installed"
lap setup-root

# ---- generate: the tiny model through a program importing 'higgs-audio' --------------------------
mkdir -p "$root/srv/models/model" "$root/srv/models/codec"
cp -r test/fixtures/tiny/hf/. "$root/srv/models/model/"
cp -r test/fixtures/goldens/codec/. "$root/srv/models/codec/"
cat >"$root/srv/app/speak.mjs" <<'EOF'
import { writeFileSync } from 'node:fs';
import { HiggsAudio } from 'higgs-audio';
const tts = new HiggsAudio({ config: { modelDir: '/srv/models/model', codecDir: '/srv/models/codec', voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048 } });
try {
  const out = await tts.generate({ transcript: 'Hello from a fresh Debian.', seed: 7, output_format: 'wav' });
  writeFileSync(process.argv[2], out.audio);
  console.log(JSON.stringify({ bytes: out.audio.length, seconds: out.durationSeconds }));
} finally {
  await tts.dispose();
}
EOF
as_root "HIGGS_LOG_LEVEL=silent node speak.mjs /srv/app/out.wav" >"$logs/generate.log" 2>&1 && s=0 || s=$?
wav=$(node -e '
  const fs = require("fs"); const f = process.argv[1];
  const b = fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0);
  const ok = b.length > 44 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WAVE";
  console.log(`${ok ? "ok" : "bad"} ${b.length} bytes`);' "$root/srv/app/out.wav")
[[ $s == 0 && ${wav%% *} == ok ]] && w=0 || w=1
check generate $w "exit $s, WAV ${wav#* }, $(tail -n 1 "$logs/generate.log")"
lap generate

log "timings: ${timings[*]}; total $((SECONDS - started)) s"
log "Debian packages apt installed ($(wc -l <"$logs/apt-installed.txt")): $logs/apt-installed.txt"
exit $((failed ? 1 : 0))

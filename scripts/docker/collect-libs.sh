#!/usr/bin/env bash
# Copies the shared-library closure of one or more ELF files (the N-API addon) into DEST, so that the
# runtime stage of Dockerfile.runpod.optimized needs no apt packages, no libtorch tree and no CUDA
# toolkit: only DEST on LD_LIBRARY_PATH.
#
#   scripts/docker/collect-libs.sh DEST ELF...          e.g. /opt/higgs/lib build/Release/higgs_audio.node
#
# What is copied: every library `ldd` resolves for the ELF files, except the ones the runtime base
# image already has (glibc, libstdc++, libgcc_s, zlib) and the NVIDIA driver libraries (libcuda,
# libnvidia-*), which the NVIDIA container toolkit mounts into the container at start and which
# must match the host's driver: copying them would break every GPU but the build machine's.
# Symlinks are followed: each library lands under the name the loader asks for (its soname), as a
# regular file; a second name for the same file becomes a symlink to the first copy.
#
# ldd cannot see libraries that are dlopen()ed. libtorch and cuDNN load some that way; they are
# listed in EXTRA_LIBS as "ANCHOR GLOB" pairs: when a library whose soname starts with ANCHOR is in
# the closure, the files matching GLOB in ANCHOR's own directory are copied too, with their own
# closure (same directory, so a system copy of the same library can never be mixed in). Defaults:
#   libcudnn.so      libcudnn_*.so*           cuDNN 9 splits into sub-libraries loaded on demand
#   libtorch_cuda.so libcaffe2_nvrtc.so       ATen's lazy NVRTC wrapper (jiterator kernels)
#   libnvrtc         libnvrtc-builtins*.so*   loaded by NVRTC itself (also used by cuDNN's runtime engines)
# KEEP_CUDNN_SUBLIBS=0 drops the cuDNN sub-libraries (~1 GB) for a build whose native code never
# reaches cuDNN (at::globalContext().setUserEnabledCuDNN(false)); a convolution on CUDA would then
# fail at run time, so the default keeps them.
#
# Environment: LD_LIBRARY_PATH as the runtime will resolve (e.g. /opt/libtorch/lib), EXTRA_LIBS,
# KEEP_CUDNN_SUBLIBS, SYSTEM_LIBS_RE (extended regex of sonames never copied).
set -euo pipefail

usage() { echo "usage: $0 DEST ELF..." >&2; exit 2; }
(($# >= 2)) || usage
dest=$1
shift
mkdir -p "$dest"

SYSTEM_LIBS_RE=${SYSTEM_LIBS_RE:-'^(linux-vdso|linux-gate|ld-linux[^ ]*|libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|libmvec|libnsl|libstdc\+\+|libgcc_s|libz)\.so'}
DRIVER_LIBS_RE='^(libcuda|libnvidia-[a-z0-9_-]+|libnvcuvid|libnvoptix)\.so'
KEEP_CUDNN_SUBLIBS=${KEEP_CUDNN_SUBLIBS:-1}
DEFAULT_EXTRA='libtorch_cuda.so libcaffe2_nvrtc.so
libnvrtc libnvrtc-builtins*.so*'
if [[ $KEEP_CUDNN_SUBLIBS == 1 ]]; then
  DEFAULT_EXTRA+=$'\nlibcudnn.so libcudnn_*.so*'
fi
EXTRA_LIBS=${EXTRA_LIBS:-$DEFAULT_EXTRA}

declare -A copied_real=()   # real path -> name it was copied under
declare -A resolved_dir=()  # soname -> directory it was resolved from
declare -a queue=()
missing=()

# ldd prints "soname => /path (0x...)", "soname => not found" or "/abs/ld.so (0x...)".
closure() {
  local out
  if ! out=$(ldd "$1" 2>&1); then
    # "not a dynamic executable": nothing to follow (a static helper, a linker script).
    grep -q 'not a dynamic executable' <<<"$out" && return 0
    echo "collect-libs: ldd $1 failed:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '$2 == "=>" { print $1 "\t" $3 }' <<<"$out"
}

copy_one() {  # soname path
  local name=$1 path=$2 real
  real=$(readlink -f "$path")
  resolved_dir[$name]=$(dirname "$path")
  [[ -e $dest/$name ]] && return 0
  if [[ -n ${copied_real[$real]:-} ]]; then
    ln -s "${copied_real[$real]}" "$dest/$name"
  else
    cp -L --preserve=mode "$path" "$dest/$name"
    copied_real[$real]=$name
  fi
}

visit() {  # ELF: copy its closure
  local name path
  while IFS=$'\t' read -r name path; do
    [[ -z $name ]] && continue
    if [[ $name =~ $DRIVER_LIBS_RE ]]; then
      continue  # mounted by the NVIDIA container toolkit at run time; "not found" here is expected
    fi
    if [[ $name =~ $SYSTEM_LIBS_RE ]]; then
      continue
    fi
    if [[ $path == not ]]; then
      missing+=("$name (needed by $1)")
      continue
    fi
    copy_one "$name" "$path"
  done < <(closure "$1")
}

for elf in "$@"; do
  [[ -f $elf ]] || { echo "collect-libs: $elf does not exist" >&2; exit 1; }
  visit "$elf"
done

# dlopen()ed libraries next to their anchors (see the header).
while read -r anchor glob; do
  [[ -z ${anchor:-} ]] && continue
  for name in "${!resolved_dir[@]}"; do
    [[ $name == "$anchor"* ]] || continue
    dir=${resolved_dir[$name]}
    shopt -s nullglob
    for file in "$dir"/$glob; do
      base=$(basename "$file")
      [[ -e $dest/$base ]] && continue
      if [[ -L $file && $(dirname "$(readlink -f "$file")") == "$(readlink -f "$dir")" ]]; then
        # A symlink within the same directory (libfoo.so.9 -> libfoo.so.9.1.0): keep it a symlink;
        # the glob also matches its target, which is copied as a file.
        ln -s "$(basename "$(readlink -f "$file")")" "$dest/$base"
      else
        copy_one "$base" "$file"
      fi
      queue+=("$file")
    done
    shopt -u nullglob
  done
done <<<"$EXTRA_LIBS"
for file in "${queue[@]}"; do
  visit "$file"
done

if ((${#missing[@]})); then
  echo "collect-libs: libraries ldd could not find (set LD_LIBRARY_PATH):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

# A dangling symlink means the glob matched a link whose target was not copied.
for link in "$dest"/*; do
  if [[ -L $link && ! -e $link ]]; then
    echo "collect-libs: dangling symlink $link" >&2
    exit 1
  fi
done

count=$(find "$dest" -maxdepth 1 -type f | wc -l)
total=$(du -sb "$dest" | cut -f1)
echo "collect-libs: $count libraries, $((total / 1024 / 1024)) MiB in $dest; largest:"
find "$dest" -maxdepth 1 -type f -printf '%s\t%f\n' | sort -rn | head -n 15 |
  awk -F'\t' '{ printf "  %8.1f MiB  %s\n", $1 / 1048576, $2 }'

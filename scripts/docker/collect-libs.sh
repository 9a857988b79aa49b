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
# What the worker never reaches is cut as scripts/docker/lib-cuts.tsv says (dropped, or replaced
# by a stub from scripts/docker/stub-lib.sh when libtorch is linked to it); LIB_CUTS=none keeps
# the whole closure as linked (npm run image:report measures both).
#
# Environment: LD_LIBRARY_PATH as the runtime will resolve (e.g. torch/lib and the nvidia/*/lib
# folders of the CUDA wheels), EXTRA_LIBS, LIB_CUTS (the table; "none"), CUTS_REPORT (a file
# listing what was cut, with the real sizes), SYSTEM_LIBS_RE (extended
# regex of sonames never copied), CC (for the stubs).
set -euo pipefail

usage() { echo "usage: $0 DEST ELF..." >&2; exit 2; }
(($# >= 2)) || usage
dest=$1
shift
mkdir -p "$dest"

SYSTEM_LIBS_RE=${SYSTEM_LIBS_RE:-'^(linux-vdso|linux-gate|ld-linux[^ ]*|libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|libmvec|libnsl|libstdc\+\+|libgcc_s|libz)\.so'}
DRIVER_LIBS_RE='^(libcuda|libnvidia-[a-z0-9_-]+|libnvcuvid|libnvoptix)\.so'
DEFAULT_EXTRA='libtorch_cuda.so libcaffe2_nvrtc.so
libnvrtc libnvrtc-builtins*.so*
libcudnn.so libcudnn_*.so*'
EXTRA_LIBS=${EXTRA_LIBS:-$DEFAULT_EXTRA}
here=$(cd "$(dirname "$0")" && pwd)
LIB_CUTS=${LIB_CUTS:-$here/lib-cuts.tsv}

declare -A copied_real=()   # real path -> name it was copied under
declare -A resolved_dir=()  # soname -> directory it was resolved from
declare -A stub_real=()     # soname -> the real library a stub stands in for
declare -A cut_real=()      # soname -> the real library lib-cuts.tsv cut (stub or drop)
declare -A system_path=()   # system library (left to the base image) -> its path here
declare -a queue=()
missing=()

# The action of lib-cuts.tsv for a soname ("drop", "stub" or "") and its reason.
declare -a cut_prefix=() cut_action=() cut_reason=()
if [[ $LIB_CUTS != none ]]; then
  while IFS=$'\t' read -r prefix action reason; do
    [[ -z $prefix || $prefix == \#* ]] && continue
    cut_prefix+=("$prefix") cut_action+=("$action") cut_reason+=("$reason")
  done <"$LIB_CUTS"
fi
cut_index() {  # soname -> index into cut_* (or -1)
  local i
  for i in "${!cut_prefix[@]}"; do [[ $1 == "${cut_prefix[$i]}"* ]] && { echo "$i"; return; }; done
  echo -1
}

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

copy_one() {  # soname path; returns 1 when the library is cut (not to be followed)
  local name=$1 path=$2 real cut
  real=$(readlink -f "$path")
  resolved_dir[$name]=$(dirname "$path")
  cut=$(cut_index "$name")
  if ((cut >= 0)); then
    cut_real[$name]=$real
    [[ ${cut_action[$cut]} == stub ]] && stub_real[$name]=$real
    return 1
  fi
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
      system_path[$name]=$path
      continue
    fi
    if [[ $path == not ]]; then
      missing+=("$name (needed by $1)")
      continue
    fi
    copy_one "$name" "$path" || true
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
        copy_one "$base" "$file" || continue
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

# The stubs, now that every library that stays is known (the symbols it binds decide the stub's).
if ((${#stub_real[@]})); then
  lists=$(mktemp -d)
  find "$dest" -maxdepth 1 -type f >"$lists/users"
  printf '%s\n' "$@" >>"$lists/users"
  { cat "$lists/users"; printf '%s\n' "${system_path[@]}"; } >"$lists/others"
  for name in "${!stub_real[@]}"; do
    reason=${cut_reason[$(cut_index "$name")]}
    bash "$here/stub-lib.sh" "${stub_real[$name]}" "$dest/$name" "$reason" "$lists/users" "$lists/others"
  done
  rm -rf "$lists"
fi

# CUTS_REPORT: one line a cut library (soname, action, real path, its bytes, reason), for image-report.
if [[ -n ${CUTS_REPORT:-} ]]; then
  : >"$CUTS_REPORT"
  for name in "${!cut_real[@]}"; do
    i=$(cut_index "$name")
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "${cut_action[$i]}" "${cut_real[$name]}" "$(stat -c %s "${cut_real[$name]}")" "${cut_reason[$i]}" >>"$CUTS_REPORT"
  done
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

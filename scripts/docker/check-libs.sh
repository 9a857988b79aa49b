#!/usr/bin/env bash
# Run in the runtime stage (no GPU, no driver): proves that every library the addon needs, and
# every library collected next to it (including the dlopen()ed ones), resolves inside the image,
# and that no symbol version is missing (a libstdc++ older than the builder's would show here).
# The NVIDIA driver libraries (libcuda, libnvidia-*) are the exception: the container toolkit
# mounts them when the container starts, so at build time they are legitimately "not found".
#
#   scripts/docker/check-libs.sh ELF... [--dir LIBDIR]
set -euo pipefail

files=()
while (($#)); do
  case $1 in
    --dir) shift; for f in "$1"/*.so*; do [[ -f $f ]] && files+=("$f"); done ;;
    *) files+=("$1") ;;
  esac
  shift
done
((${#files[@]})) || { echo "usage: $0 ELF... [--dir LIBDIR]" >&2; exit 2; }

DRIVER_LIBS_RE='(libcuda|libnvidia-[a-z0-9_-]+|libnvcuvid|libnvoptix)\.so'
bad=0
for f in "${files[@]}"; do
  out=$(ldd "$f" 2>&1 || true)
  problems=$(grep -E 'not found' <<<"$out" | grep -Ev "$DRIVER_LIBS_RE" || true)
  if [[ -n $problems ]]; then
    echo "check-libs: $f:" >&2
    echo "$problems" >&2
    bad=1
  fi
done
if ((bad)); then
  echo "check-libs: unresolved libraries or symbol versions (see above)" >&2
  exit 1
fi
echo "check-libs: ${#files[@]} files, every library resolves (driver libraries come from the host)"

#!/usr/bin/env bash
# Run in the runtime stage (no GPU, no driver): proves that every library the addon needs, and
# every library collected next to it (including the dlopen()ed ones), resolves inside the image,
# and that no symbol version is missing (a libstdc++ older than the builder's would show here).
# The NVIDIA driver libraries (libcuda, libnvidia-*) are the exception: the container toolkit
# mounts them when the container starts, so at build time they are legitimately "not found".
#
# --load NODE also loads each .node addon given into NODE with LD_BIND_NOW=1: every symbol the
# libraries bind (a stub of lib-cuts.tsv included) must resolve at once, not at its first call.
#
#   scripts/docker/check-libs.sh ELF... [--dir LIBDIR] [--load NODE]
set -euo pipefail

files=()
node=
while (($#)); do
  case $1 in
    --dir) shift; for f in "$1"/*.so*; do [[ -f $f ]] && files+=("$f"); done ;;
    --load) shift; node=$1 ;;
    *) files+=("$1") ;;
  esac
  shift
done
((${#files[@]})) || { echo "usage: $0 ELF... [--dir LIBDIR] [--load NODE]" >&2; exit 2; }

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
if [[ -n $node ]]; then
  for f in "${files[@]}"; do
    [[ $f == *.node ]] || continue
    LD_BIND_NOW=1 "$node" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$f" ||
      { echo "check-libs: $f does not load with every symbol bound (LD_BIND_NOW=1)" >&2; exit 1; }
  done
fi
echo "check-libs: ${#files[@]} files, every library resolves (driver libraries come from the host)"

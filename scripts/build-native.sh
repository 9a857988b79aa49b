#!/usr/bin/env bash
# The native build (core, addon, native tests, higgs-bench) through cmake-js, against torch's
# libtorch from a project-local Python environment (scripts/python-env.sh):
#   scripts/build-native.sh cpu    build/       torch CPU: what npm test and npm run demo use
#   scripts/build-native.sh cuda   build-cuda/  torch CUDA with the CUDA module and the fused kernels;
#                                               compiles and links here without a GPU, and the addon
#                                               also serves on the CPU
# --out DIR builds elsewhere (binding.gyp: build/cmake); further arguments go to cmake-js
# (e.g. --CDCMAKE_BUILD_TYPE=Debug).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-cpu}
shift || true
case $what in
  cpu) out=build; env=cpu ;;
  cuda) out=build-cuda; env=cuda ;;
  *) echo "usage: scripts/build-native.sh cpu|cuda [--out DIR] [cmake-js options]" >&2; exit 2 ;;
esac
if [[ ${1:-} == --out ]]; then
  out=$2
  shift 2
fi

# HIGGS_TORCH_DIR: the caller made or named the torch a moment ago (bootstrap.sh, setup, the
# install hook's Torch_DIR) and passes it (CPU build only).
if [[ $what == cpu && -n ${HIGGS_TORCH_DIR:-} ]]; then TORCH_DIR=$HIGGS_TORCH_DIR; else TORCH_DIR=$(bash scripts/python-env.sh "$env"); fi
# Tests and bench on unless the caller's options turn them off (a later -D wins): the CMake cache
# would otherwise keep what an addon-only build (higgs-audio setup) left there.
args=(--directory . --out "$out" --parallel "${HIGGS_BUILD_JOBS:-2}" "--CDTorch_DIR=$TORCH_DIR" --CDHIGGS_BUILD_TESTS=ON --CDHIGGS_BUILD_BENCH=ON)

cuda_args=()
if [[ $what == cuda ]]; then
  mapfile -t cuda_args < <(bash scripts/cuda-cmake-args.sh "$TORCH_DIR")
  ((${#cuda_args[@]})) || exit 1
  for a in "${cuda_args[@]}"; do args+=("--CD${a#-D}"); done
  args+=("--CDHIGGS_WITH_CUDA=ON" "--CDHIGGS_WITH_CUDA_KERNELS=ON")
fi

# Another libtorch or toolkit than last time: CMake's cached paths would still name the old one.
mkdir -p "$out"
stamp=$(printf '%s\n' "$TORCH_DIR" "${cuda_args[@]}")
# ninja's records go too: they name the old libtorch's headers, which another user may not read.
if [[ "$(cat "$out/.torch-dir" 2>/dev/null)" != "$stamp" ]]; then rm -rf "$out/CMakeCache.txt" "$out/CMakeFiles" "$out/.ninja_deps" "$out/.ninja_log"; fi
echo "$stamp" >"$out/.torch-dir"
# A configure that failed leaves a cache but no build files, and cmake-js would not configure again.
if [[ -f $out/CMakeCache.txt && ! -f $out/build.ninja && ! -f $out/Makefile ]]; then rm -rf "$out/CMakeCache.txt" "$out/CMakeFiles" "$out/.ninja_deps" "$out/.ninja_log"; fi

# cmake-js as Node resolves it from here: in an installed package it sits beside us in the app's
# node_modules, where npx would not look (it would try the registry instead).
cmake_js=$(node -p "require.resolve('cmake-js/bin/cmake-js')")
exec node "$cmake_js" build "${args[@]}" "$@"

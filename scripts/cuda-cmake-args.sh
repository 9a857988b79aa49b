#!/usr/bin/env bash
# The CMake arguments of a CUDA build against a pip torch, one per line, for
# scripts/build-native.sh (through cmake-js) and scripts/device/gpu-check.sh (plain cmake):
#   scripts/cuda-cmake-args.sh TORCH_CMAKE_DIR
# The toolkit (nvcc, cudart headers) is CUDA_HOME, else the nvidia-cuda-nvcc wheels beside this
# torch (site-packages/nvidia/cu13, installed by scripts/python-env.sh cuda), else /usr/local/cuda
# (a GPU machine's own torch); nvrtc, cuBLAS and the other
# libraries torch links are the nvidia-* wheels beside it, whose versioned names (libnvrtc.so.13)
# FindCUDAToolkit does not look for, and whose headers (cublas_v2.h) a bare toolkit lacks.
# HIGGS_CUDA_ARCH (default 9.0: H100, H200; the image passes its CUDA_ARCH_LIST, e.g.
# "8.0;8.6;8.9;9.0;10.0;12.0+PTX") is TORCH_CUDA_ARCH_LIST, in torch's syntax ("+PTX": also the
# PTX, which the driver compiles for GPUs newer than the list). Torch's CMake turns it into the
# -gencode flags of libtorch's CMake users and of our own kernels (CMakeLists.txt), so it is the
# one arch list; without it torch would add compute_50, which nvcc 13 rejects.
set -euo pipefail
torch_dir=${1:?usage: scripts/cuda-cmake-args.sh TORCH_CMAKE_DIR}
nvidia=$(cd "$torch_dir/../../../.." && pwd)/nvidia # site-packages/nvidia
if [[ -n ${CUDA_HOME:-} ]]; then cuda_home=$CUDA_HOME
elif [[ -x $nvidia/cu13/bin/nvcc ]]; then cuda_home=$nvidia/cu13
else cuda_home=/usr/local/cuda; fi
[[ -x $cuda_home/bin/nvcc ]] || { echo "cuda-cmake-args: no nvcc at $cuda_home/bin/nvcc (install the CUDA 13 toolkit or set CUDA_HOME)" >&2; exit 1; }
arch=${HIGGS_CUDA_ARCH:-9.0}
echo "-DCMAKE_CUDA_COMPILER=$cuda_home/bin/nvcc"
echo "-DCUDAToolkit_ROOT=$cuda_home"
echo "-DCUDA_TOOLKIT_ROOT_DIR=$cuda_home"
echo "-DTORCH_CUDA_ARCH_LIST=$arch"
[[ -d $nvidia ]] || exit 0                         # not a pip torch: the toolkit has everything
for pair in cudart:libcudart nvrtc:libnvrtc cublas:libcublas cublasLt:libcublasLt cufft:libcufft curand:libcurand \
  cusolver:libcusolver cusparse:libcusparse nvJitLink:libnvJitLink cupti:libcupti nvtx3:libnvtx3interop; do
  file=$(ls "$nvidia"/*/lib/"${pair#*:}".so.* 2>/dev/null | sort | head -n1 || true)
  [[ -n $file ]] && echo "-DCUDA_${pair%%:*}_LIBRARY=$file"
  # torch's CMake still runs the legacy FindCUDA, which wants the unversioned libcudart.so
  [[ -n $file && ${pair%%:*} == cudart ]] && echo "-DCUDA_CUDART_LIBRARY=$file"
done
includes=$(ls -d "$nvidia"/*/include 2>/dev/null | paste -sd';' - || true)
[[ -n $includes ]] && echo "-DHIGGS_EXTRA_INCLUDE_DIRS=$includes"
exit 0

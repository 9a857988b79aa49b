#!/usr/bin/env bash
# Project-local Python environments that carry torch's libtorch (the native build links it; no
# system libtorch is used) and, on request, the transformers reference:
#   scripts/python-env.sh cpu    .venv       torch CPU                        (npm test, npm run demo)
#   scripts/python-env.sh refs   .venv       + transformers, tokenizers, ...  (goldens, the baseline)
#   scripts/python-env.sh cuda   .venv-cuda  torch CUDA + NVIDIA runtime wheels (npm run build:cuda)
# Wheels come from the machine's wheelhouse when pip's configuration names one (file:// indexes,
# find-links folders: nothing leaves the machine), else from PyPI and download.pytorch.org.
# Idempotent: a stamp records what is installed, so a second run costs a second.
# HIGGS_PYTHON_HOME puts the environments elsewhere, as HIGGS_PYTHON_HOME/cpu and /cuda
# (`higgs-audio setup` keeps them per user, outside node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

# The one place of the torch versions the project builds against (README, "Building the native side").
TORCH_CPU="torch==2.13.0+cpu"
TORCH_CUDA="torch==2.14.1"
# torch 2.14.1 CUDA's runtime libraries, named because its Python-only cuda-bindings dependency is
# not in the wheelhouse (so it is installed with --no-deps).
CUDA_WHEELS=(nvidia-cublas nvidia-cuda-runtime nvidia-cuda-nvrtc nvidia-cudnn-cu13 nvidia-cufft nvidia-curand
  nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13
  nvidia-nvtx nvidia-cuda-cupti nvidia-cufile)
TORCH_PYTHON_DEPS=(typing-extensions filelock sympy networkx jinja2 fsspec mpmath markupsafe)
# The CUDA 13.0 compiler as wheels (nvcc, its front end, NVVM, the CCCL headers): they land in
# site-packages/nvidia/cu13 beside the runtime wheels, which makes that folder a whole toolkit root
# (scripts/cuda-cmake-args.sh), so a CUDA build needs no system CUDA toolkit here, in CI or in
# the image's builder stage. Never part of the runtime image.
CUDA_TOOLKIT_WHEELS=(nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-cccl==13.0.85)
# transformers as the committed goldens were made with (test/fixtures/goldens/README.md).
REFERENCE=(transformers==5.17.0 tokenizers safetensors numpy)

log() { printf '[python-env] %s\n' "$*" >&2; }

what=${1:-cpu}
case $what in
  cpu | refs) venv=.venv; kind=cpu ;;
  cuda) venv=.venv-cuda; kind=cuda ;;
  *) log "usage: scripts/python-env.sh cpu|refs|cuda"; exit 2 ;;
esac
[[ -z ${HIGGS_PYTHON_HOME:-} ]] || venv=$HIGGS_PYTHON_HOME/$kind

# Debian's python3 (the set-up installs python3 and python3-venv); the wheels are for its 3.11.
PYTHON=${HIGGS_PYTHON:-python3}
[[ -x $venv/bin/python ]] || { log "creating $venv"; mkdir -p "$(dirname "$venv")"; "$PYTHON" -m venv "$venv"; }
PIP=("$venv/bin/python" -m pip)

# pip's sources: local ones from its configuration (and PIP_FIND_LINKS) when there are any.
sources=()
mapfile -t configured < <("${PIP[@]}" config list 2>/dev/null | sed -n "s/^[^=]*\.\(find-links\|extra-index-url\|index-url\)='\(.*\)'$/\1 \2/p")
indexes=()
links=()
for line in "${configured[@]}"; do
  key=${line%% *}
  for value in ${line#* }; do
    case $key in
      find-links) [[ -e $value ]] && links+=("$value") ;;
      *index-url) [[ $value == file://* ]] && indexes+=("$value") ;;
    esac
  done
done
if ((${#indexes[@]} + ${#links[@]})); then
  # The first local index replaces PyPI, so pip never waits on the network.
  if ((${#indexes[@]})); then sources+=(--index-url "${indexes[0]}"); for i in "${indexes[@]:1}"; do sources+=(--extra-index-url "$i"); done
  else sources+=(--no-index); fi
  for l in "${links[@]}"; do sources+=(--find-links "$l"); done
  where="the local wheelhouse"
elif [[ $what == cuda ]]; then
  where="PyPI" # PyPI's torch 2.14.1 for Linux is the CUDA 13.0 build (download.pytorch.org's cpu index would win)
else
  sources+=(--extra-index-url https://download.pytorch.org/whl/cpu)
  where="PyPI"
fi

install() {
  local stamp="$venv/.higgs-$1"
  shift
  local want="$*"
  [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
  log "installing into $venv from $where: $want"
  # A local index without some project says so once per project: not worth reading.
  "${PIP[@]}" install --quiet --disable-pip-version-check "${sources[@]}" "$@" 2> >(grep -v 'is neither a file nor a directory' >&2)
  echo "$want" >"$stamp"
}

case $what in
  cpu) install torch "$TORCH_CPU" ;;
  refs) install torch "$TORCH_CPU"; install refs "${REFERENCE[@]}" ;;
  cuda) install torch --no-deps "$TORCH_CUDA" "${CUDA_WHEELS[@]}" "${TORCH_PYTHON_DEPS[@]}" "${CUDA_TOOLKIT_WHEELS[@]}" ;;
esac
if [[ $what == cuda ]]; then
  # A CPU wheel of the same version would build an addon without the CUDA module: refuse it here
  # (torch/version.py says which CUDA the wheel was built for, without importing torch).
  cuda_of_wheel=$("$venv/bin/python" -c 'import importlib.util, os, re; d = os.path.dirname(importlib.util.find_spec("torch").origin); print((re.search(r"^cuda.*=.*[\x27\x22]([0-9.]+)", open(os.path.join(d, "version.py")).read(), re.M) or [None, "none"])[1])')
  [[ $cuda_of_wheel == 13.* ]] || { log "the torch in $venv is built for CUDA $cuda_of_wheel, not 13"; exit 1; }
  # What a toolkit install has and the wheels lack: nvcc links from lib64/, and torch's CMake
  # (legacy FindCUDA) looks for an unversioned libcudart.so.
  toolkit=$("$venv/bin/python" -c 'import importlib.util, os; print(os.path.realpath(os.path.join(os.path.dirname(importlib.util.find_spec("torch").origin), "..", "nvidia", "cu13")))')
  [[ -e $toolkit/lib64 ]] || ln -s lib "$toolkit/lib64"
  [[ -e $toolkit/lib/libcudart.so ]] || ln -s libcudart.so.13 "$toolkit/lib/libcudart.so"
fi

# The CMake package of this torch, for -DTorch_DIR (printed on stdout, the only output).
"$venv/bin/python" - <<'EOF'
import importlib.util, os
spec = importlib.util.find_spec("torch")
print(os.path.join(os.path.dirname(spec.origin), "share", "cmake", "Torch"))
EOF

#!/usr/bin/env bash
# The project's GPU check, for a lent machine with CUDA and Python torch + transformers but no
# Node and no internet. One run: build the core, native tests and higgs-bench against Python
# torch's libtorch; run the native tests on CUDA (and CPU: the batching tests among them); run
# higgs-bench (batch 1, and the continuous-batching sweep on the full shape); regenerate the
# transformers goldens when missing or older than their script; print a markdown table last.
# Everything it reports lands in $OUT (the device tool copies that folder back).
#
#   bash scripts/device/gpu-check.sh            # from the repository root
#   carried (ignored) inputs: .carry/include/nlohmann (header-only JSON), .carry/tokenizer.json
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/higgs-gpu-check}
mkdir -p "$OUT"
JOBS=${JOBS:-$(nproc)}
STEPS=${STEPS:-64}
# Overridable for a dry run on a machine without a GPU (see README.md, "higgs-bench").
BENCH_DEVICE=${BENCH_DEVICE:-cuda}
BENCH_SHAPES=${BENCH_SHAPES:-tiny full}
TEST_DEVICES=${TEST_DEVICES:-cuda cpu}
BASELINE=${BASELINE:-1}
start=$(date +%s)
stamp() { echo "[gpu-check +$(( $(date +%s) - start ))s] $*"; }
declare -A RESULT

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
GPU_NAME=$(head -n1 "$OUT/gpu.txt" | cut -d, -f1)
python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)' | tee "$OUT/versions.txt"

# ---- goldens (CPU, in the background while the build runs) -----------------------------------------
GOLDENS=test/fixtures/goldens
TOKENIZER=test/fixtures/tiny/tokenizer.json
[[ -f $TOKENIZER ]] || TOKENIZER=.carry/tokenizer.json
goldens_pid=""
# File times do not survive a clone, so "older than the script" means: made by another version of
# it (the sha256 of the script that made them is kept beside them).
script_sha=$(sha256sum scripts/goldens/make_goldens.py | cut -d' ' -f1)
if [[ ! -f $GOLDENS/manifest.json || "$(cat $GOLDENS/.script-sha256 2>/dev/null)" != "$script_sha" ]]; then
  stamp "goldens: regenerating (missing or made by another version of make_goldens.py)"
  ( export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=4 PYTHONUNBUFFERED=1
    python3 scripts/goldens/make_goldens.py --out "$OUT/goldens" --tokenizer "$TOKENIZER" --device cpu \
      >"$OUT/goldens.log" 2>&1; echo $? >"$OUT/goldens.rc" ) &
  goldens_pid=$!
else
  stamp "goldens: present and current"
  RESULT[goldens]="current"
fi

# ---- build against Python torch's libtorch ---------------------------------------------------------
TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
export PATH=/usr/local/cuda/bin:$PATH
NLOHMANN=/usr/include
[[ -f $NLOHMANN/nlohmann/json.hpp ]] || NLOHMANN=$PWD/.carry/include
stamp "configure (torch at $TORCH_PREFIX)"
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
# The toolkit and the CUDA wheels' libraries and headers, named (CMake looks for libtorch without
# the system's search paths, so nothing of theirs is found by chance).
mapfile -t CUDA_ARGS < <(bash scripts/cuda-cmake-args.sh "$TORCH_PREFIX/Torch" 2>>"$OUT/build.log" || true)
((${#CUDA_ARGS[@]})) || CUDA_ARGS=(-DTORCH_CUDA_ARCH_LIST=9.0)
BUILD=build-gpu
configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DHIGGS_BUILD_ADDON=OFF -DNLOHMANN_JSON_INCLUDE_DIR="$NLOHMANN" "${CUDA_ARGS[@]}" "$@" \
    >>"$OUT/build.log" 2>&1 && stamp "build $dir (-j$JOBS)" && cmake --build "$dir" -j "$JOBS" >>"$OUT/build.log" 2>&1
}
# Still measure what can be measured when a CUDA part fails to build: first without the fused
# kernels (nvcc), then without the CUDA module (graphs, memory numbers) too.
if configure_and_build build-gpu; then
  RESULT[build]="ok (CUDA module and fused kernels on)"
else
  tail -n 40 "$OUT/build.log"
  stamp "build with the fused kernels FAILED; retrying without them"
  BUILD=build-gpu-nokernels
  if configure_and_build "$BUILD" -DHIGGS_WITH_CUDA_KERNELS=OFF; then
    RESULT[build]="fused kernels FAILED (see build.log); CUDA module on"
  else
    tail -n 40 "$OUT/build.log"
    stamp "build with the CUDA module FAILED; retrying without it"
    BUILD=build-gpu-nocuda
    if configure_and_build "$BUILD" -DHIGGS_WITH_CUDA=OFF -DHIGGS_WITH_CUDA_KERNELS=OFF; then
      RESULT[build]="CUDA module FAILED (see build.log); built without it"
    else
      RESULT[build]="FAILED"
      tail -n 40 "$OUT/build.log"
    fi
  fi
fi

# ---- native tests ------------------------------------------------------------------------------------
if [[ ${RESULT[build]} != FAILED ]]; then
  for device in $TEST_DEVICES; do
    stamp "native tests on $device"
    HIGGS_TEST_DEVICE=$device ctest --test-dir "$BUILD" -V >"$OUT/ctest-$device.log" 2>&1
    rc=$?
    counts=$(grep -oE '^[0-9]+: [0-9]+ passed, [0-9]+ failed$' "$OUT/ctest-$device.log" |
      awk '{p+=$2; f+=$4} END {printf "%d passed, %d failed", p, f}')
    RESULT[tests_$device]="$counts (ctest rc $rc)"
    grep -E 'FAIL|check failed|exception' "$OUT/ctest-$device.log" | head -n 20
  done

  # ---- benchmarks ----------------------------------------------------------------------------------
  for shape in $BENCH_SHAPES; do
    stamp "higgs-bench $shape on $BENCH_DEVICE (batch 1)"
    if timeout 240 "$BUILD"/higgs-bench --shape "$shape" --device "$BENCH_DEVICE" --prompt 512 \
         --steps "$STEPS" --warmup 8 --json "$OUT/bench-$shape.json" >"$OUT/bench-$shape.log" 2>&1; then
      RESULT[bench_$shape]="ok"
    else
      RESULT[bench_$shape]="FAILED"
      tail -n 20 "$OUT/bench-$shape.log"
    fi
  done
  # Continuous batching: the batch sweep of the full shape with the device batch (graph decode,
  # lm/device_slot_batch.h; SWEEP_DECODE=eager for the host-sampled slot batch), row-exact and
  # fast, with a newcomer's first audio while B streams run. max_context 1024: fewer KV buckets
  # to capture and arenas of 1024 positions per row.
  if [[ $BENCH_DEVICE == cuda && " $BENCH_SHAPES " == *" full "* ]]; then
    # Row-exact costs B forwards per step: a shorter sweep.
    for run in "fast:${SWEEP:-1,2,4,8,16,32}" "exact:${SWEEP_EXACT:-1,4,16}"; do
      batching=${run%%:*}
      stamp "higgs-bench full on cuda, batch sweep ($batching, ${SWEEP_DECODE:-graph} decode)"
      timeout 240 "$BUILD"/higgs-bench --shape full --device cuda --decode "${SWEEP_DECODE:-graph}" --batching "$batching" \
        --batch "${run#*:}" --prompt 128 --steps 32 --warmup 4 --max-context 1024 --request-seconds 0 --no-codec \
        --json "$OUT/bench-full-sweep-$batching.json" >"$OUT/bench-full-sweep-$batching.log" 2>&1 ||
        tail -n 20 "$OUT/bench-full-sweep-$batching.log"
    done
  fi
  # The same graph-captured step with ATen ops only (the kernels' share of the gain), and with the
  # candidate successor kernels (HIGGS_KERNELS_NEXT: the default once they measure faster).
  if [[ $BENCH_DEVICE == cuda && " $BENCH_SHAPES " == *" full "* ]]; then
    for variant in aten:HIGGS_FUSED_KERNELS=0 next:HIGGS_KERNELS_NEXT=1; do
      name=${variant%%:*}
      stamp "higgs-bench full on cuda ($variant)"
      env "${variant#*:}" timeout 120 "$BUILD"/higgs-bench --shape full --device cuda --prompt 512 --steps "$STEPS" \
        --warmup 8 --request-seconds 0 --no-codec --json "$OUT/bench-full-$name.json" >"$OUT/bench-full-$name.log" 2>&1 ||
        tail -n 20 "$OUT/bench-full-$name.log"
    done
  fi
fi

# ---- where a decode step's time goes: Nsight Compute on the first fused kernels (warm-up steps) ----
if [[ ${RESULT[build]} != FAILED && $BENCH_DEVICE == cuda && ${PROFILE:-1} == 1 ]] && command -v ncu >/dev/null; then
  stamp "ncu: speed of light of the decode-step kernels"
  timeout 150 ncu --kernel-name regex:'gemv_kernel|attention_chunk|add_rms_norm|gumbel_argmax' --launch-count 10 \
    --section SpeedOfLight "$BUILD"/higgs-bench --shape full --device cuda --prompt 512 --steps 2 --warmup 1 \
    --request-seconds 0 --no-codec --voice-seconds 1 >"$OUT/ncu.txt" 2>&1 || tail -n 20 "$OUT/ncu.txt"
  grep -E '^  [a-z_]+kernel|Duration|Memory Throughput|DRAM Throughput' "$OUT/ncu.txt" | head -n 60
fi

# ---- transformers baseline: the same full shape, random weights, static cache, same step count ------
if [[ $BASELINE == 1 ]]; then
  stamp "transformers baseline (full shape, bf16)"
  if timeout 240 python3 scripts/device/transformers_baseline.py --prompt 512 --steps "$STEPS" --warmup 8 \
       --json "$OUT/bench-transformers.json" >"$OUT/bench-transformers.log" 2>&1; then
    RESULT[baseline]="ok"
  else
    RESULT[baseline]="FAILED"
    tail -n 30 "$OUT/bench-transformers.log"
  fi
fi

# ---- collect goldens -----------------------------------------------------------------------------------
if [[ -n $goldens_pid ]]; then
  stamp "waiting for goldens"
  wait "$goldens_pid"
  tail -n 30 "$OUT/goldens.log"
  RESULT[goldens]="rc $(cat "$OUT/goldens.rc" 2>/dev/null || echo '?')"
  if [[ -d $OUT/goldens ]]; then
    # The device tool returns files of at most 16 MB: ship the folder as a split tarball.
    echo "$script_sha" >"$OUT/goldens/.script-sha256"
    tar -C "$OUT" -czf "$OUT/goldens.tgz" goldens && split -b 15m -d "$OUT/goldens.tgz" "$OUT/goldens.tgz.part"
    rm -rf "$OUT/goldens" "$OUT/goldens.tgz"
  fi
fi

# ---- summary (markdown, last) ----------------------------------------------------------------------------
{
  echo "## GPU check $(date -u +%Y-%m-%d) on ${GPU_NAME}"
  echo
  echo "| item | result |"
  echo "|---|---|"
  echo "| versions | $(cat "$OUT/versions.txt") |"
  for key in build tests_cuda tests_cpu goldens baseline; do echo "| $key | ${RESULT[$key]:-skipped} |"; done
  echo
  pairs=()
  for shape in $BENCH_SHAPES; do pairs+=("higgs-bench ($shape)=$OUT/bench-$shape.json"); done
  [[ -f $OUT/bench-full-aten.json ]] && pairs+=("higgs-bench (full, ATen ops only)=$OUT/bench-full-aten.json")
  [[ -f $OUT/bench-full-next.json ]] && pairs+=("higgs-bench (full, HIGGS_KERNELS_NEXT=1)=$OUT/bench-full-next.json")
  for batching in fast exact; do
    [[ -f $OUT/bench-full-sweep-$batching.json ]] && pairs+=("higgs-bench (full, ${SWEEP_DECODE:-graph}, batch sweep $batching)=$OUT/bench-full-sweep-$batching.json")
  done
  [[ $BASELINE == 1 ]] && pairs+=("transformers (full)=$OUT/bench-transformers.json")
  python3 scripts/device/summarize_bench.py "${pairs[@]}"
} | tee "$OUT/summary.md"

# The device tool brings back at most 8 files: pack logs and JSON reports into one archive.
( cd "$OUT" && files=$(ls | grep -vE '^(summary\.md|goldens\.tgz\.part[0-9]+)$') &&
  tar -czf logs.tgz $files && rm -rf $files )
ls -la "$OUT"
stamp "done"

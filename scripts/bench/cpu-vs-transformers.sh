#!/usr/bin/env bash
# higgs-bench against transformers on this machine's CPU, in one run, on one saved model: a few
# layers of the real width with random weights (scripts/device/transformers_baseline.py builds
# and saves it, then times transformers; build/higgs-bench loads the same files). Writes
# build/bench-cpu/{transformers-D,higgs-D-W,mid-D-W}-N.json (D: float32, bfloat16; W: dense,
# int8 weights) and prints the same-run ratios: three rounds, each timing transformers
# (from_pretrained of the saved model) and higgs-bench in both dtypes and both weight formats back
# to back, then higgs-bench's random `mid` shape the same way, so that the machine's drift hits
# all alike; the table shows each one's median round and the weight bytes read per step.
#   scripts/bench/cpu-vs-transformers.sh [LAYERS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
layers=${1:-4}
steps=${2:-16}
out=build/bench-cpu
model=$out/model-${layers}layers
mkdir -p "$out"
bash scripts/python-env.sh refs >/dev/null
[[ -x build/higgs-bench ]] || { echo "build/higgs-bench is missing: run npm run build:native" >&2; exit 1; }
common=(--prompt 128 --steps "$steps" --warmup 4)
baseline=(.venv/bin/python scripts/device/transformers_baseline.py --device cpu --dtype float32 --layers "$layers" --prefill-runs 2 --no-check)
[[ -f $model/model.safetensors ]] || "${baseline[@]}" --save "$model" --steps 1 --warmup 0 --prompt 8 >"$out/save.log" 2>&1
for run in 1 2 3; do
  for dtype in float32 bfloat16; do
    "${baseline[@]}" --dtype "$dtype" --load "$model" --json "$out/transformers-${dtype}-$run.json" "${common[@]}" >"$out/transformers-${dtype}-$run.log" 2>&1
  done
  for weights in dense int8; do
    for dtype in float32 bfloat16; do
      build/higgs-bench --model "$model" --device cpu --dtype "$dtype" --weights "$weights" --no-codec --voice-seconds 0 --request-seconds 0 \
        --json "$out/higgs-${dtype}-${weights}-${run}.json" "${common[@]}" >"$out/higgs-${dtype}-${weights}-${run}.log" 2>&1
    done
  done
  for weights in dense int8; do
    for dtype in float32 bfloat16; do
      build/higgs-bench --shape mid --device cpu --dtype "$dtype" --weights "$weights" --no-codec --voice-seconds 0 --request-seconds 0 \
        --json "$out/mid-${dtype}-${weights}-${run}.json" "${common[@]}" >"$out/mid-${dtype}-${weights}-${run}.log" 2>&1
    done
  done
done
.venv/bin/python - "$out" <<'PY'
import json, os, platform, sys
out = sys.argv[1]
def median_round(prefix):
    runs = sorted((json.load(open(os.path.join(out, "%s-%d.json" % (prefix, i)))) for i in (1, 2, 3)), key=lambda r: r["decode_ms_p50"])
    return runs[1]
tf = median_round("transformers-float32")
rows = [("transformers %s eager fp32" % tf["transformers"], tf),
        ("transformers %s eager bf16" % tf["transformers"], median_round("transformers-bfloat16"))]
for weights in ("dense", "int8"):
    for dtype in ("float32", "bfloat16"):
        rows.append(("higgs-bench %s %s" % (dtype, weights), median_round("higgs-%s-%s" % (dtype, weights))))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"CPU: {cpu}, {os.cpu_count()} cores; torch {tf['torch']}; {tf['layers']} layers of the full width; median of 3 rounds")
def gbs(r):
    return f"{r['weight_bytes_per_step'] / 1e6:.0f} MB, {r['achieved_gb_per_s']:.1f} GB/s" if "weight_bytes_per_step" in r else "-"
print("| run | decode ms p50 | p90 | x transformers | prefill ms (128) | load s | weights read per step |")
print("|---|---|---|---|---|---|---|")
base = tf["decode_ms_p50"]
for name, r in rows:
    print(f"| {name} | {r['decode_ms_p50']:.1f} | {r['decode_ms_p90']:.1f} | {base / r['decode_ms_p50']:.2f} | {r['prefill_ms']:.0f} | {r['load_s']:.2f} | {gbs(r)} |")
print()
print("higgs-bench --shape mid (random weights), same rounds")
print("| run | decode ms p50 | p90 | prefill ms (128) | weights read per step |")
print("|---|---|---|---|---|")
for weights in ("dense", "int8"):
    for dtype in ("float32", "bfloat16"):
        r = median_round("mid-%s-%s" % (dtype, weights))
        print(f"| higgs-bench mid {dtype} {weights} | {r['decode_ms_p50']:.1f} | {r['decode_ms_p90']:.1f} | {r['prefill_ms']:.0f} | {gbs(r)} |")
PY

#!/usr/bin/env bash
# Regenerates the transformers goldens on this machine's CPU and compares them with the committed
# ones: the reference environment (.venv, scripts/python-env.sh refs), the torchaudio stand-in
# when no torchaudio is installed (scripts/goldens/standins), make_goldens.py into
# build/goldens-cpu, then compare_goldens.py. With --write the new goldens replace
# test/fixtures/goldens (commit them with the comparison in the message).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/goldens-cpu
bash scripts/python-env.sh refs >/dev/null
node scripts/fixtures/make-tiny.mjs test/fixtures/tiny >/dev/null # the tokenizer the goldens use
if ! .venv/bin/python -c 'import torchaudio' 2>/dev/null; then
  echo "[goldens] no torchaudio here: using scripts/goldens/standins (torchaudio.functional.resample only)" >&2
  export PYTHONPATH="$PWD/scripts/goldens/standins${PYTHONPATH:+:$PYTHONPATH}"
fi
rm -rf "$out"
status=0
CUDA_VISIBLE_DEVICES= .venv/bin/python scripts/goldens/make_goldens.py --device cpu --out "$out" --log build/goldens-cpu.log || status=$?
.venv/bin/python scripts/goldens/compare_goldens.py test/fixtures/goldens "$out"
if [[ ${1:-} == --write ]]; then
  ((status == 0)) || { echo "[goldens] make_goldens.py failed: not writing" >&2; exit 1; }
  cp -r "$out"/. test/fixtures/goldens/
  sha256sum scripts/goldens/make_goldens.py | cut -d' ' -f1 >test/fixtures/goldens/.script-sha256
  echo "[goldens] wrote test/fixtures/goldens" >&2
fi
exit "$status"

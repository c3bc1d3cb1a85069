#!/usr/bin/env bash
# GPU check through transformers' paged-KV engine (docs/hardware_check.md, "GPU, paged engine").
#
#   OUT=/some/dir bash hardware_check/paged_check.sh [extra args for hardware_check.paged_gpu_check]
#
# Needs, on the GPU machine: Python >= 3.11 with numpy and a CUDA torch, and transformers with
# continuous batching (written against 5.19.0).  If wheels/ holds a transformers wheel (carry
# it: `pip download transformers==5.19.0 --no-deps -d wheels`), it is installed first with
# --no-deps.  No internet is needed: the model is ratio/data/models/llama-3.1-8b/config.json with
# random weights.  Writes $OUT/paged_check.json; exits 3 if torch with CUDA or transformers is
# missing (never a silent pass), 1 on any accounting mismatch.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/paged_check_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
if ls wheels/transformers-*.whl > /dev/null 2>&1; then
  "$PY" -m pip install -q --no-deps wheels/transformers-*.whl 2>&1 | tail -2
fi
if ! "$PY" -c "import torch, transformers.generation.continuous_batching; assert torch.cuda.is_available()" \
    2> "$OUT/import_error.txt"; then
  printf '{"format": "kvratio-paged-gpu-check/1", "status": "unavailable", "error": %s}\n' \
    "$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-2000:]))' "$OUT/import_error.txt")" \
    > "$OUT/paged_check.json"
  echo "paged_check: torch with CUDA and transformers' continuous batching are not importable; see $OUT/paged_check.json" >&2
  exit 3
fi
timeout 540 "$PY" -m hardware_check.paged_gpu_check --out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"

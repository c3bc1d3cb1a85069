#!/usr/bin/env bash
# GPU check for kvratio's hardware_check (docs/hardware_check.md, "GPU").
#
#   OUT=/some/dir bash hardware_check/gpu_check.sh [extra args for hardware_check.gpu_check]
#
# Needs, on the GPU machine: Python >= 3.11 with numpy, matplotlib and a CUDA build of
# vLLM 0.32 importable (no internet is needed: the model is ratio/data/models/llama-3.1-8b/
# config.json with load_format="dummy", random weights).  Writes $OUT/gpu_check.json:
# the full-engine replay's comparison with the model and the fit step_time = c0 + c1 * tokens.
# If vLLM is missing it writes that reason to the JSON and exits 3 (never a silent pass).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/gpu_check_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export VLLM_ENABLE_V1_MULTIPROCESSING=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
if ! "$PY" -c "import vllm, torch; assert torch.cuda.is_available()" 2> "$OUT/import_error.txt"; then
  printf '{"format": "kvratio-gpu-check/1", "status": "unavailable", "error": %s}\n' \
    "$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-2000:]))' "$OUT/import_error.txt")" \
    > "$OUT/gpu_check.json"
  echo "gpu_check: vLLM with CUDA is not importable here; see $OUT/gpu_check.json" >&2
  exit 3
fi
timeout 540 "$PY" -m hardware_check.gpu_check --out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"

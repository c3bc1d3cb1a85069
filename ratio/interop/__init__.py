"""Interop with the serving ecosystem (issue 10): production traces in (Azure, BurstGPT,
Mooncake, generic CSV/JSONL), replayable timed traces out, KV capacity from model configs,
length-information noise models, and SVF priorities for a live vLLM server.

Submodules import only the standard library, NumPy and :mod:`ratio`; :mod:`.vllm_plugin`
imports vLLM only inside the functions that need it.
"""

from ratio.interop.capacity import CapacityResult, compute_capacity, load_config, param_count
from ratio.interop.exporters import export_mooncake, mooncake_lines
from ratio.interop.importers import Dropped, ImportResult, import_trace
from ratio.interop.noise import IntervalNoise, LogNormalNoise, OneBitNoise, attach_info, parse_info

__all__ = [
    "CapacityResult",
    "Dropped",
    "ImportResult",
    "IntervalNoise",
    "LogNormalNoise",
    "OneBitNoise",
    "attach_info",
    "compute_capacity",
    "export_mooncake",
    "import_trace",
    "load_config",
    "mooncake_lines",
    "param_count",
    "parse_info",
]

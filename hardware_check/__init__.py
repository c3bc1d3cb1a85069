"""Replay kvratio traces through real vLLM and compare with the model (issue 4).

Spec: ``model.md`` sections 2 (rounds, memory conventions), 7 (reactive eviction) and 9 (vLLM
correspondence).  Modules: :mod:`~hardware_check.mapping` (trace -> engine requests),
:mod:`~hardware_check.scheduler_replay` (vLLM's scheduler alone, fake model output),
:mod:`~hardware_check.engine_replay` (full engine, CPU or CUDA), :mod:`~hardware_check.observe`
(per-step records), :mod:`~hardware_check.mirror` (vLLM's rules restated, with switches),
:mod:`~hardware_check.compare` (model vs engine), :mod:`~hardware_check.cli` (``kvratio replay``).
Only ``mapping`` and ``mirror`` work without vLLM installed.
"""

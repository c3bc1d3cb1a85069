"""Extended-engine policies, one module each, registered in
:data:`ratio.queueing.policy.POLICIES` (``orca``, ``sarathi``, ``fastertransformer``,
``vllm_prefill_first``: Dai, Deng, Li, Peng, arXiv 2504.07347; ``class_priority``)."""

from ratio.queueing.policies.class_priority import ClassPriority
from ratio.queueing.policies.fastertransformer import FasterTransformer
from ratio.queueing.policies.orca import Orca
from ratio.queueing.policies.sarathi import Sarathi
from ratio.queueing.policies.vllm_prefill_first import VLLMPrefillFirst
from ratio.queueing.policy import POLICIES, register_engine_policy

for _cls in (Orca, Sarathi, FasterTransformer, VLLMPrefillFirst, ClassPriority):
    if _cls.name not in POLICIES:
        register_engine_policy(_cls)

__all__ = ["ClassPriority", "FasterTransformer", "Orca", "Sarathi", "VLLMPrefillFirst"]

# Fluid-guided policies (issue 9), one module each; importing registers them.
from ratio.queueing.policies import gate_and_route, greedy_evict, nested_wait, wait  # noqa: E402,F401

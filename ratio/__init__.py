"""kvratio's foundation: the scheduling model, an independent checker, costs, the
simulator and the policy registry (``docs/model.md``)."""

from ratio.check import CheckResult, check
from ratio.costs import Costs, compute_costs, memory_trace
from ratio.errors import InfeasibleError, InputError, StuckError
from ratio.io import dump, load
from ratio.model import Instance, Request, Run, Schedule, peak, volume
from ratio.policies import REGISTRY, Policy, get_policy
from ratio.simulator import SimResult, simulate

__version__ = "0.1.0"

__all__ = [
    "CheckResult",
    "Costs",
    "InfeasibleError",
    "InputError",
    "Instance",
    "Policy",
    "REGISTRY",
    "Request",
    "Run",
    "Schedule",
    "SimResult",
    "StuckError",
    "check",
    "compute_costs",
    "dump",
    "get_policy",
    "load",
    "memory_trace",
    "peak",
    "simulate",
    "volume",
]

"""Certified search for the traces where a policy is furthest from the optimum (issue 6).

The fitness of a trace is ``L_policy / UB(OPT)`` with ``UB`` the cost of a checker-verified
feasible schedule (``docs/model.md`` section 10), so every number this package reports is a
lower bound on the policy's competitive ratio. Modules:

``space``       search spaces (trace families with constraints) and constraint-keeping mutations
``strategies``  search strategies registered by name (random, hill, anneal, evolve, structured)
``objective``   the certified objective, the volume-bound filter, SVF's waiting-time certificate
``families``    structured families with hand-written feasible schedules (ratios at any ``n``)
``store``       run directories: evaluation log (resumable), hall of fame ``kvratio-hof/1``
``search``      the search loop (parallel evaluation through :mod:`ratio.parallel`)
``cli``         ``kvratio search``, ``kvratio show``, ``kvratio family``
"""

from __future__ import annotations

# Kept import-free: ``kvratio`` imports ``adversaries.cli`` at start-up (spec: plugins stay light).

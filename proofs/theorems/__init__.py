"""One module per registered theorem; each defines ``THEOREM`` (a :class:`proofs.registry.Theorem`).

The order and the names are in :data:`proofs.registry.THEOREM_MODULES`.
"""

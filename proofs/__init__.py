"""Every theorem the toolkit covers, checked symbolically (sympy) and on instances.

The registry (:mod:`proofs.registry`) holds one :class:`~proofs.registry.Theorem` per module of
:mod:`proofs.theorems`; ``kvratio prove`` runs them and prints a verdict for each
(``verified``, ``refuted`` with a certified counter-example, or ``open`` with the reason).
Instance-level inequalities live in :mod:`proofs.inequalities`; the notebooks in
``proofs/notebooks/`` reproduce the figures.

Importing this package is light: sympy and the simulator are imported where they are used.
"""

__all__: list[str] = []

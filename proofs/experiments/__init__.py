"""The experiment drivers behind the notebooks in ``proofs/notebooks/`` (issue 18: drivers live
beside the notebooks that use them, not in the :mod:`ratio` foundation).

- :mod:`proofs.experiments.stability`: the stability reproductions (issue 8; ``docs/stability.md``,
  notebooks ``stability_*.py``, tests ``tests/queueing/test_reproductions.py``);
- :mod:`proofs.experiments.fluid`: the fluid reproductions (issue 9; ``docs/fluid.md``, notebooks
  ``fluid_*.py``, tests ``tests/fluid/``).

Both run the extended engine (:mod:`ratio.queueing`); importing this package imports neither.
"""

__all__: list[str] = []

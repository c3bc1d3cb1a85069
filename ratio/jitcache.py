"""One-time compilation of numba kernels, announced on stderr (issue 17: no silent first call).

A marker file beside numba's on-disk cache says that a source file, under this numba, was
compiled before; only the first process (no marker) prints the notice and the time taken.
Used by :mod:`ratio.fastsim` and :mod:`offline_opt.bnb_jit`.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["compiled_marker", "compile_announced"]


def compiled_marker(source: str | Path, tag: str) -> Path:
    """A file beside numba's cache that says ``source``, under this numba, was compiled."""
    import numba

    src = Path(source)
    digest = hashlib.sha1(src.read_bytes() + numba.__version__.encode()).hexdigest()
    base = numba.config.CACHE_DIR or str(src.parent / "__pycache__")
    return Path(base) / f"kvratio-{tag}-{digest[:16]}.compiled"


def compile_announced(marker: Path, start: str, done: str, compile_fn: Callable[[], None]) -> None:
    """Run ``compile_fn`` (which compiles or loads the kernels); the first time (no
    ``marker``) print ``start`` before it and ``done`` with the seconds taken after it, then
    leave the marker."""
    first = not marker.exists()
    if first:
        print(f"kvratio: {start}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    compile_fn()
    if first:
        print(f"kvratio: {done} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:  # a read-only install: the notice shows again, nothing else changes
            pass

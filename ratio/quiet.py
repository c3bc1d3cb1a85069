"""Solver output kept off stdout, so that ``--json`` output stays exactly one JSON object.

HiGHS prints its banner from C++ on file descriptor 1, which ``contextlib.redirect_stdout``
cannot catch; :func:`quiet_stdout` points descriptor 1 elsewhere for the duration.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["quiet_stdout"]


def _flush_c_stdio() -> None:
    """Flush C's stdio buffers while descriptor 1 still points where they were meant to go."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send what is printed on descriptor 1 inside the block to ``/dev/null`` (on stderr it
    landed inside the one-line progress display, issue 19). ``KVRATIO_SOLVER_LOG=1`` sends it
    to stderr instead, for debugging a solver."""
    sys.stdout.flush()
    saved = os.dup(1)
    sink = -1
    try:
        if os.environ.get("KVRATIO_SOLVER_LOG") == "1":
            os.dup2(2, 1)
        else:
            sink = os.open(os.devnull, os.O_WRONLY)
            os.dup2(sink, 1)
        yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        if sink >= 0:
            os.close(sink)

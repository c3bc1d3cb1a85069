"""Shared test configuration: hypothesis profiles ``dev`` (default) and ``ci``
(``HYPOTHESIS_PROFILE=ci``), and the path of the bundled fixtures."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DATA = Path(__file__).parent / "data"


# --- Ctrl-C and SIGTERM stop the suite (issue 17) -------------------------------------------------
# Two libraries take the signals from pytest. OR-Tools CP-SAT catches SIGINT during a solve
# (``catch_sigint_signal``, on by default; offline_opt.cpsat now turns it off) and leaves the C
# handler at SIG_DFL afterwards; Ray's ``ray.init`` installs a SIGTERM handler that raises
# SystemExit, which pytest records as one failed test and goes on. After every test the Python
# handlers are put back: SIGINT raises KeyboardInterrupt and SIGTERM is turned into one, so
# pytest stops, prints its summary and exits.
_MAIN_PID = os.getpid()


def _sigterm(signum: int, frame: object) -> None:
    import signal

    if os.getpid() != _MAIN_PID:  # a forked worker: die as SIGTERM asks, quietly
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise KeyboardInterrupt("SIGTERM")


def _restore_signal_handlers() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _sigterm)


def pytest_sessionstart(session: object) -> None:
    _restore_signal_handlers()


def pytest_runtest_teardown(item: object, nextitem: object) -> None:
    _restore_signal_handlers()

"""One validation layer for every ``kvratio`` command and policy parameter (issue 17).

Three pieces, each failing with one sentence that names the argument (the CLI turns it into
exit 2, ``interfaces.md``):

* :data:`RULES` — the type, range and finiteness of every numeric option of every command.
  :func:`apply_rules` wraps the ``type=`` converter of each matching option after all plugins
  have registered their subcommands, so a command added by another package is checked by the
  same table and cannot forget ``--seed -1`` or ``--time-limit nan``.
* :func:`parse_bool`, :func:`check_number` and :func:`check_param` — the checks behind policy
  and batch-time-model parameters (``NAME:key=value``): booleans are ``true`` or ``false`` and
  nothing else, numbers are finite, a key may appear once.
* Resource limits (:data:`MAX_WORK_ROUNDS`, :func:`guard_work`): where work or memory would
  grow with the magnitude of a number rather than with the instance, the command is refused at
  once with the limit named.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ratio.errors import InputError

__all__ = [
    "RULES",
    "PATH_RULES",
    "Rule",
    "apply_rules",
    "parse_bool",
    "check_number",
    "check_param",
    "guard_work",
    "MAX_WORK_ROUNDS",
    "MAX_GEN_REQUESTS",
    "MAX_SEARCH_N",
    "MAX_PLOT_ROUNDS",
    "MAX_ARRIVALS",
    "PLOT_FORMATS",
    "check_plot_path",
]

#: The checker and the simulators visit every round in which a request runs; a trace whose
#: outputs sum to more than this many rounds is refused before any work (``guard_work``).
MAX_WORK_ROUNDS = 10**8
#: ``kvratio gen --n`` at most this many requests.
MAX_GEN_REQUESTS = 10**7
#: ``kvratio search --n`` at most this many requests per trace (issue 15: the frontier lives at
#: thousands of requests). An evaluation screens by ``L / LB`` first and bounds the work of a
#: trace by the space's ``work_max`` (total output), so its time stays bounded by the instance
#: (``docs/adversaries.md``, speed table).
MAX_SEARCH_N = 10_000
#: ``--plot`` draws one point per round.
MAX_PLOT_ROUNDS = 10**6
#: A stability run draws ``rate x horizon`` arrivals up front.
MAX_ARRIVALS = 10**7


@dataclass(frozen=True)
class Rule:
    """A numeric option: ``kind`` is ``int`` or ``float`` (always finite); ``lo``/``hi`` bound
    it (``lo_open``: strictly above ``lo``)."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    note: str = ""

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a finite number"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {_num(self.lo)}")
        if self.hi is not None:
            parts.append(f"<= {_num(self.hi)}")
        return what + (" " + " and ".join(parts) if parts else "")

    def check(self, value: Any) -> None:
        if self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, int | float | Fraction) and not isinstance(value, bool)
            ok = ok and math.isfinite(float(value))
        if ok and self.lo is not None:
            ok = value > self.lo if self.lo_open else value >= self.lo
        if ok and self.hi is not None:
            ok = value <= self.hi
        if not ok:
            note = f" ({self.note})" if self.note else ""
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {value!r}{note}")


def _num(x: float) -> str:
    if isinstance(x, int) and x >= 10**6 and math.log10(x).is_integer():
        return f"10^{int(math.log10(x))}"
    return f"{x:g}" if isinstance(x, float) else str(x)


_SEED = Rule(int, 0)
_POS_INT = Rule(int, 1)
_NONNEG_INT = Rule(int, 0)
_POS = Rule(float, 0, lo_open=True)
_SECONDS = Rule(float, 0, 10**9, lo_open=True)
_CAPACITY = Rule(int, 2)

#: ``(command, option) -> Rule``; ``command`` ``"*"`` applies to every command that has the
#: option, unless the command has its own entry.
RULES: dict[tuple[str, str], Rule] = {
    ("*", "--seed"): _SEED,
    ("*", "--workers"): _POS_INT,
    ("*", "--block-size"): _POS_INT,
    ("*", "--time-limit"): _SECONDS,
    ("*", "--batch"): _POS_INT,
    ("*", "--round-ms"): _POS,
    ("*", "--token-budget"): _POS_INT,
    ("*", "--max-requests"): _POS_INT,
    ("*", "--engines"): _POS_INT,
    ("*", "--backlog-bound"): _POS,
    ("*", "--hash-block"): _POS_INT,
    ("*", "--capacity"): _CAPACITY,
    ("*", "--head"): _POS_INT,
    ("*", "--sample"): _POS_INT,
    ("export", "--scale-to-capacity"): _CAPACITY,
    ("gen", "--n"): Rule(int, 0, MAX_GEN_REQUESTS, note="ratio.validate.MAX_GEN_REQUESTS"),
    ("gen", "--M"): _CAPACITY,
    ("gen", "--rate"): Rule(float, 0, 10**9, lo_open=True),
    ("gen", "--prompt-mean"): Rule(float, 1, 10**12),
    ("gen", "--output-mean"): Rule(float, 1, 10**12),
    ("gen", "--prompt"): _POS_INT,
    ("gen", "--output"): _POS_INT,
    ("search", "--n"): Rule(int, 1, MAX_SEARCH_N, note="ratio.validate.MAX_SEARCH_N"),
    ("search", "--prompt"): _POS_INT,
    ("search", "--output"): _POS_INT,
    ("search", "--capacity-max"): _NONNEG_INT,
    ("search", "--arrival-max"): _NONNEG_INT,
    ("search", "--milp-max-n"): _NONNEG_INT,
    ("stability", "--prompt"): _POS_INT,
    ("stability", "--output"): _POS_INT,
    ("stability", "--rates"): _POS,
    ("stability", "--loads"): _POS,
    ("stability", "--horizon"): Rule(float, 0, 10**12, lo_open=True),
}


def _rule_for(command: str, option: str) -> Rule | None:
    return RULES.get((command, option)) or RULES.get(("*", option))


def _wrap(conv: Callable[[str], Any] | None, rule: Rule) -> Callable[[str], Any]:
    def checked(text: str) -> Any:
        if conv is None:
            value: Any = int(text) if rule.kind is int else float(text)
        else:
            value = conv(text)
        for v in value if isinstance(value, tuple | list) else (value,):
            rule.check(v)
        return value

    # argparse names the converter in "invalid <name> value" when it raises ValueError.
    checked.__name__ = "integer" if rule.kind is int else "number"
    return checked


#: Options that name an output file, checked when parsed (before any work): ``"file"`` must be
#: writable as a regular file (:func:`ratio.atomic.check_output_path`), ``"plot"`` also needs an
#: image extension. ``kvratio search --out`` is a directory, locked by
#: :class:`adversaries.store.RunLock` instead.
PATH_RULES: dict[tuple[str, str], str] = {
    ("*", "--plot"): "plot",
    ("*", "--records"): "file",
    ("*", "--write-docs"): "file",
    ("gen", "--out"): "file",
    ("import", "--out"): "file",
    ("export", "--out"): "file",
    ("export", "--scaled-trace"): "file",
}


def _wrap_path(conv: Callable[[str], Any] | None, kind: str, option: str) -> Callable[[str], Any]:
    def checked(text: str) -> Any:
        from ratio.atomic import check_output_path

        try:
            if kind == "plot":
                check_plot_path(text, option)
            else:
                check_output_path(text, option)
        except InputError as e:
            # argparse already starts the line with "argument OPTION:".
            msg = str(e).removeprefix(f"{option}: ")
            raise argparse.ArgumentTypeError(msg) from None
        return conv(text) if conv is not None else text

    checked.__name__ = "path"
    return checked


def apply_rules(parser: argparse.ArgumentParser) -> None:
    """Attach :data:`RULES` and :data:`PATH_RULES` to every subcommand of ``parser`` (call after
    all plugins ran)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command, sub in action.choices.items():
            for a in sub._actions:
                if a.nargs == 0:
                    continue
                for opt in a.option_strings:
                    rule = _rule_for(command, opt)
                    if rule is not None:
                        a.type = _wrap(a.type, rule)
                        break
                    kind = PATH_RULES.get((command, opt)) or PATH_RULES.get(("*", opt))
                    if kind is not None:
                        a.type = _wrap_path(a.type, kind, "/".join(a.option_strings))
                        break


# --- policy and model parameters ----------------------------------------------------------------
def parse_bool(text: Any, name: str) -> bool:
    """``true`` or ``false`` (any case) and nothing else; ``name`` labels the error."""
    if isinstance(text, bool):
        return text
    low = str(text).strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise InputError(f"{name} must be true or false, got {text!r}")


def check_number(value: Any, name: str) -> None:
    """A parsed number must be finite (``nan`` and ``inf`` parse as floats)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")


def check_param(owner: str, key: str, value: Any, default: Any) -> Any:
    """Check one ``key=value`` parameter against its declared default: a boolean default takes
    only ``true``/``false``; an integer default only integers; a numeric default only finite
    numbers. Returns the value (booleans normalised)."""
    name = f"{owner}: {key}"
    if isinstance(default, bool):
        return parse_bool(value, name)
    check_number(value, name)
    if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if isinstance(default, float | Fraction) and (
        isinstance(value, bool) or not isinstance(value, int | float | Fraction)
    ):
        raise InputError(f"{name} must be a number, got {value!r}")
    return value


# --- resource guards -----------------------------------------------------------------------------
def guard_work(instance: Any, what: str = "trace") -> None:
    """Refuse at once an instance whose work grows with the magnitude of its numbers.

    The checker and the simulators visit each round in which some request runs; their work is
    bounded by ``sum_i o_i`` (idle rounds are skipped). Beyond :data:`MAX_WORK_ROUNDS` the
    command is refused naming that limit, instead of running for days.
    """
    total = sum(r.output for r in instance.requests)
    if total > MAX_WORK_ROUNDS:
        raise InputError(
            f"{what}: the outputs sum to {total} rounds of work, above the limit "
            f"{_num(MAX_WORK_ROUNDS)} (ratio.validate.MAX_WORK_ROUNDS): the checker visits "
            "every round in which a request runs"
        )


#: File types that ``--plot`` options write (matplotlib's, chosen by the extension).
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "webp")


def check_plot_path(path: Any, option: str = "--plot") -> str:
    """A ``--plot`` path: writable as a file (:func:`ratio.atomic.check_output_path`) with an
    image extension; returns the format."""
    from ratio.atomic import check_output_path

    p = check_output_path(path, option)
    ext = p.suffix.lower().lstrip(".")
    if ext not in PLOT_FORMATS:
        raise InputError(
            f"{option}: {str(path)!r} must end in one of "
            + ", ".join("." + f for f in PLOT_FORMATS)
        )
    return ext

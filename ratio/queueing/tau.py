"""Batch-time models (``docs/queueing.md`` Q2), named like policies (``interfaces.md``).

A model maps a batch (prefill tokens, decode tokens) to the duration of the round that
processes it. Parameters written as decimals are parsed as exact :class:`~fractions.Fraction`
values, so that, e.g., ``staircase:c=11.28,a=35.47,b0=128`` gives rounds of exactly
``46.75`` ms and deterministic arrivals line up with round starts without float drift.

``unit`` (default, the base model): every round lasts 1.
``staircase:c=..,a=..,b0=..``: ``c + a * ceil(b / b0)`` for a batch of ``b`` tokens
(Dai, Deng, Li, Peng, arXiv 2504.07347, section 5: CodeLlama-34B on one A100, ``c = 11.28``,
``a = 35.47``, ``b0 = 128``).
``affine:c0=..,c_prefill=..,c_decode=..``: ``c0 + c_prefill * prefill + c_decode * decode``
(the linear iteration time of Ao, Luo, Simchi-Levi, Wang, arXiv 2504.11320).
``mixed_solo:alpha=..,beta=..,gamma=..``: ``alpha + beta * C`` when the batch holds a prefill
chunk of ``C`` tokens, ``1 / gamma`` without (Zhang, Lin, Han, Ding, arXiv 2602.02987).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

from ratio.errors import InputError

__all__ = ["TauModel", "Unit", "Staircase", "Affine", "MixedSolo", "TAU_MODELS", "parse_tau"]

Number = int | Fraction | float


@dataclass(frozen=True)
class TauModel:
    """Base class: ``duration(prefill, decode)`` of one round."""

    name: ClassVar[str] = ""

    def duration(self, prefill: int, decode: int) -> Number:
        raise NotImplementedError

    def __call__(self, tokens: int) -> Number:
        """Duration of a batch of ``tokens`` tokens of one kind (decode for ``mixed_solo``)."""
        return self.duration(0, tokens)

    @property
    def is_unit(self) -> bool:
        return False

    @property
    def spec(self) -> str:
        fields = [f.name for f in dataclasses.fields(self)]
        if not fields:
            return self.name
        body = ",".join(f"{f}={_fmt(getattr(self, f))}" for f in fields)
        return f"{self.name}:{body}"


@dataclass(frozen=True)
class Unit(TauModel):
    """``tau = 1`` (the base model, ``model.md`` section 2)."""

    name: ClassVar[str] = "unit"

    def duration(self, prefill: int, decode: int) -> Number:
        return 1

    @property
    def is_unit(self) -> bool:
        return True


@dataclass(frozen=True)
class Staircase(TauModel):
    """``c + a * ceil(b / b0)`` for a batch of ``b = prefill + decode`` tokens (Dai et al.)."""

    c: Number
    a: Number
    b0: int
    name: ClassVar[str] = "staircase"

    def duration(self, prefill: int, decode: int) -> Number:
        b = prefill + decode
        return self.c + self.a * (-(-b // self.b0))


@dataclass(frozen=True)
class Affine(TauModel):
    """``c0 + c_prefill * prefill + c_decode * decode`` (Ao et al.)."""

    c0: Number
    c_prefill: Number
    c_decode: Number
    name: ClassVar[str] = "affine"

    def duration(self, prefill: int, decode: int) -> Number:
        return self.c0 + self.c_prefill * prefill + self.c_decode * decode


@dataclass(frozen=True)
class MixedSolo(TauModel):
    """``alpha + beta * C`` with a prefill chunk of ``C`` tokens, ``1 / gamma`` without
    (Zhang et al.)."""

    alpha: Number
    beta: Number
    gamma: Number
    name: ClassVar[str] = "mixed_solo"

    def duration(self, prefill: int, decode: int) -> Number:
        if prefill > 0:
            return self.alpha + self.beta * prefill
        return (
            Fraction(1) / Fraction(self.gamma)
            if not isinstance(self.gamma, float)
            else 1 / self.gamma
        )


TAU_MODELS: dict[str, tuple[type[TauModel], tuple[str, ...]]] = {
    "unit": (Unit, ()),
    "staircase": (Staircase, ("c", "a", "b0")),
    "affine": (Affine, ("c0", "c_prefill", "c_decode")),
    "mixed_solo": (MixedSolo, ("alpha", "beta", "gamma")),
}


def _num(model: str, key: str, text: str) -> Number:
    t = text.strip()
    try:
        if t.lstrip("-").isdigit():
            return int(t)
        v = Fraction(t)
    except (ValueError, ZeroDivisionError):
        raise InputError(
            f"batch-time model {model!r}: {key} must be a number, got {text!r}"
        ) from None
    return v


def _fmt(v: Number) -> str:
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        f = float(v)
        return repr(f) if Fraction(repr(f)) == v else str(v)
    return str(v)


def parse_tau(spec: str | TauModel | None) -> TauModel:
    """Build a batch-time model from ``NAME[:key=value,...]`` (``interfaces.md``).

    Raises
    ------
    InputError
        Unknown model (the message lists the valid ones), missing, unknown or non-positive
        parameters.

    Examples
    --------
    >>> parse_tau("staircase:c=11.28,a=35.47,b0=128")(512)
    Fraction(3829, 25)
    """
    if spec is None:
        return Unit()
    if isinstance(spec, TauModel):
        return spec
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in TAU_MODELS:
        raise InputError(f"unknown batch-time model {name!r} (valid: {', '.join(TAU_MODELS)})")
    cls, keys = TAU_MODELS[name]
    params: dict[str, Number] = {}
    if rest.strip():
        for item in rest.split(","):
            k, eq, v = item.partition("=")
            k = k.strip()
            if not eq or not k:
                raise InputError(
                    f"batch-time model {spec!r}: parameters must be key=value, got {item!r}"
                )
            if k not in keys:
                valid = ", ".join(keys) or "none"
                raise InputError(
                    f"batch-time model {name!r}: unknown parameter {k!r} (valid: {valid})"
                )
            if k in params:
                raise InputError(f"batch-time model {spec!r}: parameter {k!r} is given twice")
            params[k] = _num(name, k, v.strip())
    missing = [k for k in keys if k not in params]
    if missing:
        raise InputError(f"batch-time model {name!r}: missing parameter(s) {', '.join(missing)}")
    for k, val in params.items():
        if val < 0 or (val == 0 and k in ("b0", "gamma")):
            raise InputError(f"batch-time model {name!r}: {k} must be positive, got {val}")
    if name == "staircase" and not isinstance(params["b0"], int):
        raise InputError(f"batch-time model 'staircase': b0 must be an integer, got {params['b0']}")
    model = cls(**params)
    # A model must give every non-empty batch a positive duration, or time would stand still.
    if model.duration(1, 0) <= 0 or model.duration(0, 1) <= 0:
        raise InputError(f"batch-time model {spec!r} gives a batch of one token no duration")
    return model


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)

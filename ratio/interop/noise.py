"""Length-information levels as noise models attached to an instance (``docs/model.md`` §5).

A noise model turns the true output lengths ``o_i`` into what a policy at a weaker
information level is shown; the simulator builds each request's view from the attached data
only (:func:`ratio.simulator.make_view`), so a policy never reads ``o_i`` itself.

``predicted:sigma=S[,mu=U,seed=K]``
    Multiplicative log-normal error: ``o_hat_i = max(1, round(o_i * exp(U + S * z_i)))`` with
    ``z_i ~ N(0, 1)`` (level ``predicted``).
``interval:width=W[,point=upper|lower|mid,seed=K]``
    Interval predictions ``[l_i, u_i]`` that contain ``o_i`` with ``u_i / l_i ~= 1 + W``:
    ``l_i = max(1, floor(o_i / (1+W)^x_i))``, ``u_i = max(l_i, ceil(o_i * (1+W)^(1-x_i)))``,
    ``x_i ~ U(0, 1)`` placing ``o_i`` inside; the view's point prediction is ``u_i``
    (default, conservative), ``l_i`` or ``round(sqrt(l_i u_i))`` (level ``predicted``; the
    view also carries ``interval``). Cf. Chen et al., "Adaptively robust LLM inference
    optimization under prediction uncertainty" (interval-prediction setting).
``one_bit:flip=P[,theta=T,seed=K]``
    A 1-bit classifier ``o_i > T`` whose answer is flipped with probability ``P`` (level
    ``one_bit``; ``T`` defaults to the policy's ``theta``).
``full``
    No noise: the instance as it is.

Every draw for request ``i`` comes from ``numpy.random.default_rng([seed, i])`` and depends
only on ``o_i``: changing or adding later requests never changes an earlier request's view
(non-anticipation, model §5; tested).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ratio.errors import InputError
from ratio.model import Instance

__all__ = [
    "LogNormalNoise",
    "IntervalNoise",
    "OneBitNoise",
    "NoiseModel",
    "parse_info",
    "attach",
    "attach_info",
]


def _rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, i])


@dataclass(frozen=True, slots=True)
class LogNormalNoise:
    """``o_hat = max(1, round(o * exp(mu + sigma * z)))``, ``z ~ N(0, 1)`` per request."""

    sigma: float
    mu: float = 0.0
    seed: int = 0
    level: str = "predicted"

    def attach(self, inst: Instance) -> Instance:
        preds = []
        for i, r in enumerate(inst.requests):
            z = _rng(self.seed, i).standard_normal()
            preds.append(max(1, int(round(r.output * math.exp(self.mu + self.sigma * z)))))
        return dataclasses.replace(inst, predictions=tuple(preds))

    @property
    def spec(self) -> str:
        return f"predicted:sigma={self.sigma:g},mu={self.mu:g},seed={self.seed}"


@dataclass(frozen=True, slots=True)
class IntervalNoise:
    """Intervals ``[l, u]`` containing ``o`` with ``u / l ~= 1 + width`` (module docstring)."""

    width: float
    point: str = "upper"
    seed: int = 0
    level: str = "predicted"

    def attach(self, inst: Instance) -> Instance:
        f = 1.0 + self.width
        ivs: list[tuple[int, int]] = []
        preds: list[int] = []
        for i, r in enumerate(inst.requests):
            x = _rng(self.seed, i).random()
            lo = max(1, math.floor(r.output / f**x))
            hi = max(lo, math.ceil(r.output * f ** (1.0 - x)))
            lo, hi = min(lo, r.output), max(hi, r.output)  # float rounding never excludes o
            ivs.append((lo, hi))
            if self.point == "upper":
                preds.append(hi)
            elif self.point == "lower":
                preds.append(lo)
            else:
                preds.append(max(1, int(round(math.sqrt(lo * hi)))))
        return dataclasses.replace(inst, predictions=tuple(preds), intervals=tuple(ivs))

    @property
    def spec(self) -> str:
        return f"interval:width={self.width:g},point={self.point},seed={self.seed}"


@dataclass(frozen=True, slots=True)
class OneBitNoise:
    """The bit ``o > theta``, flipped with probability ``flip`` per request."""

    flip: float
    theta: int
    seed: int = 0
    level: str = "one_bit"

    def attach(self, inst: Instance) -> Instance:
        bits = []
        for i, r in enumerate(inst.requests):
            wrong = bool(_rng(self.seed, i).random() < self.flip)
            bits.append((r.output > self.theta) != wrong)
        return dataclasses.replace(inst, classes=tuple(bits), class_theta=self.theta)

    @property
    def spec(self) -> str:
        return f"one_bit:flip={self.flip:g},theta={self.theta},seed={self.seed}"


NoiseModel = LogNormalNoise | IntervalNoise | OneBitNoise

_KEYS = {
    "predicted": ("sigma", "mu", "seed"),
    "interval": ("width", "point", "seed"),
    "one_bit": ("flip", "theta", "seed"),
    "full": (),
}


def _num(kind: str, k: str, v: str, lo: float, hi: float = math.inf) -> float:
    try:
        f = float(v)
    except ValueError:
        raise InputError(f"--info {kind}: {k} must be a number, got {v!r}") from None
    if not (math.isfinite(f) and lo <= f <= hi):
        raise InputError(f"--info {kind}: {k} must be in [{lo}, {hi}], got {v!r}")
    return f


def _int(kind: str, k: str, v: str, lo: int) -> int:
    try:
        n = int(v)
    except ValueError:
        raise InputError(f"--info {kind}: {k} must be an integer, got {v!r}") from None
    if n < lo:
        raise InputError(f"--info {kind}: {k} must be >= {lo}, got {n}")
    return n


def parse_info(text: str, *, theta: int | None = None) -> NoiseModel | None:
    """Parse an ``--info`` string (module docstring); ``full`` gives ``None``.

    ``theta`` is the default threshold of ``one_bit`` (the policy's).

    >>> parse_info("predicted:sigma=0.5")
    LogNormalNoise(sigma=0.5, mu=0.0, seed=0, level='predicted')
    """
    kind, _, body = text.strip().partition(":")
    if kind not in _KEYS:
        raise InputError(f"--info: unknown level {kind!r} (valid: {', '.join(_KEYS)})")
    kv: dict[str, str] = {}
    for part in filter(None, (x.strip() for x in body.split(","))):
        k, eq, v = part.partition("=")
        if not eq or k not in _KEYS[kind]:
            valid = ", ".join(_KEYS[kind]) or "none"
            raise InputError(f"--info {kind}: bad parameter {part!r} (keys: {valid})")
        if k in kv:
            raise InputError(f"--info {kind}: {k} is given twice")
        kv[k] = v.strip()
    seed = _int(kind, "seed", kv["seed"], 0) if "seed" in kv else 0
    if kind == "full":
        return None
    if kind == "predicted":
        if "sigma" not in kv:
            raise InputError("--info predicted needs sigma, e.g. predicted:sigma=0.5")
        return LogNormalNoise(
            _num(kind, "sigma", kv["sigma"], 0.0),
            _num(kind, "mu", kv.get("mu", "0"), -math.inf),
            seed,
        )
    if kind == "interval":
        if "width" not in kv:
            raise InputError("--info interval needs width, e.g. interval:width=1")
        point = kv.get("point", "upper")
        if point not in ("upper", "lower", "mid"):
            raise InputError(f"--info interval: point must be upper, lower or mid, got {point!r}")
        return IntervalNoise(_num(kind, "width", kv["width"], 0.0), point, seed)
    if "flip" not in kv:
        raise InputError("--info one_bit needs flip, e.g. one_bit:flip=0.1")
    th = _int(kind, "theta", kv["theta"], 1) if "theta" in kv else theta
    if th is None:
        raise InputError("--info one_bit needs theta (or a policy with a theta parameter)")
    return OneBitNoise(_num(kind, "flip", kv["flip"], 0.0, 1.0), th, seed)


def attach(inst: Instance, model: NoiseModel | None) -> Instance:
    """``inst`` with ``model``'s information attached (``None``: unchanged)."""
    return inst if model is None else model.attach(inst)


def attach_info(inst: Instance, text: str, policy: Any = None) -> tuple[Instance, str]:
    """Parse ``--info`` for ``policy`` (a name or a :class:`~ratio.policies.Policy`), check
    that the policy works at that level, attach it; returns the instance and the canonical
    noise string.

    Raises
    ------
    InputError
        Bad ``--info`` or a policy at another information level (the noise would be ignored).
    """
    from ratio.policies import get_policy

    pol = get_policy(policy) if isinstance(policy, str) else policy
    theta = getattr(pol, "theta", None) if pol is not None else None
    model = parse_info(text, theta=theta)
    if model is None:
        return inst, "full"
    if pol is not None and pol.info != model.level:
        raise InputError(
            f"--info {text}: policy {pol.spec} works at the {pol.info!r} level, this noise "
            f"model feeds the {model.level!r} level (e.g. mcsf:predicted=true for predicted, "
            "svf_1bit for one_bit)"
        )
    return model.attach(inst), model.spec

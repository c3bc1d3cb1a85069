"""KV-cache capacity ``M`` from a model config and a GPU (issue 10, item 3).

For a decoder-only transformer (Llama family) with ``L`` layers, ``K`` key-value heads of
dimension ``d`` and a KV cache of ``b`` bytes per element, every token holds one key and one
value vector per layer and KV head::

    kv_bytes_per_token = 2 * L * K * d * b

The memory left for the cache is ``floor(gpu_memory * utilization) - weights - overhead``
(vLLM's ``--gpu-memory-utilization`` is a fraction of the *total* GPU memory); it is cut into
``num_blocks = floor(left / (B * kv_bytes_per_token))`` blocks of ``B`` tokens, of which vLLM
reserves one as the null block (``model.md`` section 9), so

    capacity_blocks = num_blocks - 1,   capacity_tokens = M = capacity_blocks * B.

Weights are ``params * weight_bytes`` with ``params`` the parameter count the config implies
(:func:`param_count`), or ``--weights-bytes``. vLLM also keeps activation memory, CUDA graphs
and the non-torch allocator overhead out of the cache; those depend on the run
(``--max-num-batched-tokens``, graphs) and are *not* modelled: pass them as ``overhead_bytes``
(the measured figure from ``vllm serve``'s log line "Available KV cache memory") to match a
real server. The figures here are therefore upper bounds on what vLLM reports.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.io import read_json

__all__ = [
    "DTYPE_BYTES",
    "ModelShape",
    "CapacityResult",
    "parse_size",
    "load_config",
    "param_count",
    "compute_capacity",
    "capacity_from",
    "SHIPPED",
    "shipped_config",
]

DTYPE_BYTES: dict[str, int] = {
    "float32": 4,
    "fp32": 4,
    "float": 4,
    "bfloat16": 2,
    "bf16": 2,
    "float16": 2,
    "fp16": 2,
    "half": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "int8": 1,
}

#: shipped configs (official Hugging Face ``config.json`` values), by short name
SHIPPED = ("llama-2-7b", "llama-3.1-8b", "llama-3.1-70b")

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str, *, require_unit: bool = False, what: str = "size") -> int:
    """Bytes in ``80GiB``, ``80GB`` (10^9), ``8x80GiB`` (eight GPUs), or a plain integer
    (bytes; refused with ``require_unit``: ``--gpu-memory 80`` would be 80 bytes, issue 19).

    >>> parse_size("80GiB"), parse_size("2x1KiB"), parse_size("1000")
    (85899345920, 2048, 1000)
    """
    m = re.fullmatch(r"\s*(?:(\d+)\s*[xX*]\s*)?(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if require_unit and m and not m.group(3):
        raise InputError(
            f"{what} {text!r} has no unit: write it with one, e.g. {m.group(2)}GiB (2^30 bytes) "
            f"or {m.group(2)}GB (10^9 bytes); a bare number would mean bytes"
        )
    if not m or m.group(3).lower() not in _UNITS:
        raise InputError(
            f"bad size {text!r}: expected e.g. 80GiB, 80GB, 8x80GiB or bytes (units: B, KB, MB, "
            "GB, TB, KiB, MiB, GiB, TiB)"
        )
    count = int(m.group(1) or 1)
    value = Fraction(m.group(2)) * _UNITS[m.group(3).lower()] * count
    if value.denominator != 1:
        value = Fraction(int(value))
    if value <= 0:
        raise InputError(f"bad size {text!r}: must be > 0")
    return int(value)


@dataclass(frozen=True, slots=True)
class ModelShape:
    """The numbers of a ``config.json`` that fix parameters and KV size (Llama family)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool
    attention_bias: bool
    mlp_bias: bool
    torch_dtype: str | None


def _get_int(cfg: dict[str, Any], key: str, source: str) -> int:
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise InputError(f"{source}: {key} must be a positive integer, got {v!r}")
    return v


def load_config(path: str | Path) -> ModelShape:
    """Read a Hugging Face ``config.json`` (``num_hidden_layers``, ``hidden_size``,
    ``num_attention_heads``, ``num_key_value_heads`` (default: heads), ``head_dim`` (default
    ``hidden_size / heads``), ``intermediate_size``, ``vocab_size``, ``tie_word_embeddings``,
    ``attention_bias``, ``mlp_bias``, ``torch_dtype``)."""
    p = Path(path)
    cfg = read_json(p)
    if not isinstance(cfg, dict):
        raise InputError(f"{p}: expected a JSON object")
    if "text_config" in cfg and "num_hidden_layers" not in cfg:
        cfg = {**cfg, **cfg["text_config"]}
    src = str(p)
    layers = _get_int(cfg, "num_hidden_layers", src)
    hidden = _get_int(cfg, "hidden_size", src)
    heads = _get_int(cfg, "num_attention_heads", src)
    kv_heads = _get_int(cfg, "num_key_value_heads", src) if "num_key_value_heads" in cfg else heads
    if cfg.get("head_dim") is not None:
        head_dim = _get_int(cfg, "head_dim", src)
    else:
        if hidden % heads:
            raise InputError(f"{src}: hidden_size {hidden} not divisible by {heads} heads")
        head_dim = hidden // heads
    dtype = cfg.get("torch_dtype", cfg.get("dtype"))
    name = cfg.get("_name_or_path") or p.parent.name
    return ModelShape(
        name=str(name),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=_get_int(cfg, "intermediate_size", src),
        vocab=_get_int(cfg, "vocab_size", src),
        tied=bool(cfg.get("tie_word_embeddings", False)),
        attention_bias=bool(cfg.get("attention_bias", False)),
        mlp_bias=bool(cfg.get("mlp_bias", False)),
        torch_dtype=str(dtype) if dtype is not None else None,
    )


def param_count(m: ModelShape) -> int:
    """Parameters of a Llama-architecture model (``LlamaForCausalLM``).

    Per layer: attention ``q, o: h x (H d)``, ``k, v: h x (K d)`` (+ biases with
    ``attention_bias``), gated MLP ``3 h I`` (+ ``2I + h`` with ``mlp_bias``), two RMSNorm
    weights ``2h``; plus the embedding ``V h``, the LM head ``V h`` unless tied, and the final
    norm ``h``. Llama-2-7B gives 6,738,415,616.
    """
    h, hd = m.hidden, m.head_dim
    q = h * m.heads * hd
    kv = 2 * h * m.kv_heads * hd
    o = m.heads * hd * h
    attn = q + kv + o
    if m.attention_bias:
        attn += m.heads * hd + 2 * m.kv_heads * hd + h
    mlp = 3 * h * m.intermediate + ((2 * m.intermediate + h) if m.mlp_bias else 0)
    layer = attn + mlp + 2 * h
    emb = m.vocab * h * (1 if m.tied else 2)
    return m.layers * layer + emb + h


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """The ``kvratio capacity --json`` object (``interfaces.md``)."""

    model: str
    params: int
    dtype: str
    kv_cache_dtype: str
    kv_bytes_per_token: int
    weights_bytes: int
    gpu_memory_bytes: int
    utilization: float
    overhead_bytes: int
    kv_pool_bytes: int
    block_size: int
    num_blocks: int
    capacity_blocks: int
    capacity_tokens: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["M"] = self.capacity_tokens
        return d


def _dtype_bytes(name: str, what: str) -> int:
    key = name.lower().removeprefix("torch.")
    if key not in DTYPE_BYTES:
        raise InputError(f"unknown {what} {name!r} (valid: {', '.join(sorted(DTYPE_BYTES))})")
    return DTYPE_BYTES[key]


def compute_capacity(
    shape: ModelShape,
    *,
    gpu_memory: int,
    utilization: str | float | Fraction = "0.9",
    dtype: str = "auto",
    kv_cache_dtype: str = "auto",
    block_size: int = 16,
    weights_bytes: int | None = None,
    overhead_bytes: int = 0,
) -> CapacityResult:
    """``M`` in tokens and blocks for ``shape`` on ``gpu_memory`` bytes (module docstring).

    ``dtype`` is the weights' dtype (``auto``: the config's ``torch_dtype``);
    ``kv_cache_dtype`` the cache's (``auto``: same as ``dtype``). ``utilization`` is exact
    (parsed as a decimal fraction).

    Raises
    ------
    InputError
        Unknown dtype, utilization outside ``(0, 1]``, or no room left for one block beyond
        the null block.
    """
    try:
        util = Fraction(str(utilization))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--utilization must be a number in (0, 1], got {utilization!r}") from None
    if not 0 < util <= 1:
        raise InputError(f"--utilization must be in (0, 1], got {utilization}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise InputError(f"--block-size must be a positive integer, got {block_size!r}")
    if dtype == "auto":
        if shape.torch_dtype is None:
            raise InputError("the config has no torch_dtype: give --dtype")
        dtype = shape.torch_dtype
    wb = _dtype_bytes(dtype, "--dtype")
    kvd = dtype if kv_cache_dtype == "auto" else kv_cache_dtype
    kb = _dtype_bytes(kvd, "--kv-cache-dtype")
    params = param_count(shape)
    weights = params * wb if weights_bytes is None else int(weights_bytes)
    if weights < 0 or overhead_bytes < 0:
        raise InputError("--weights-bytes and --overhead-bytes must be >= 0")
    kv_tok = 2 * shape.layers * shape.kv_heads * shape.head_dim * kb
    budget = (util * gpu_memory).__floor__()
    pool = budget - weights - overhead_bytes
    num_blocks = pool // (kv_tok * block_size) if pool > 0 else 0
    if num_blocks < 2:
        raise InputError(
            f"no room for the KV cache: {util} x {gpu_memory} B = {budget} B holds weights "
            f"{weights} B + overhead {overhead_bytes} B and leaves {pool} B, "
            f"{num_blocks} block(s) of {kv_tok * block_size} B (need 2: one is vLLM's null block)"
        )
    cap_blocks = num_blocks - 1
    return CapacityResult(
        model=shape.name,
        params=params,
        dtype=dtype,
        kv_cache_dtype=kvd,
        kv_bytes_per_token=kv_tok,
        weights_bytes=weights,
        gpu_memory_bytes=gpu_memory,
        utilization=float(util),
        overhead_bytes=overhead_bytes,
        kv_pool_bytes=pool,
        block_size=block_size,
        num_blocks=num_blocks,
        capacity_blocks=cap_blocks,
        capacity_tokens=cap_blocks * block_size,
    )


def capacity_from(path: str | Path) -> int:
    """``capacity_tokens`` of a saved ``kvratio capacity --json`` result (``--capacity-from``)."""
    p = Path(path)
    obj = read_json(p)
    v = obj.get("capacity_tokens") if isinstance(obj, dict) else None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise InputError(f"{p}: not a `kvratio capacity --json` result (no capacity_tokens)")
    return v


def shipped_config(name: str) -> Path:
    """Path of a shipped config, e.g. ``shipped_config("llama-3.1-8b")``."""
    if name not in SHIPPED:
        raise InputError(f"unknown shipped model {name!r} (shipped: {', '.join(SHIPPED)})")
    return Path(__file__).resolve().parent.parent / "data" / "models" / name / "config.json"

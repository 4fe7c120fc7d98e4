"""One definition of a percentile and of a latency summary, for the operating metrics
(``ticketflow stats``) and every benchmark under ``bench/``.

The percentile is the nearest rank: the smallest value with at least ``q`` percent
of the values at or below it (so ``p50`` of 1..10 is 5, ``p95`` of 1..100 is 95).
It is always one of the measured values, never an interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

Extra = Literal["mean", "min", "max"]


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank ``q``-th percentile (``q`` in 0..100); ``None`` for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: Iterable[float], *, quantiles: Sequence[int] = (50, 95),
            extras: Sequence[Extra] = ("max",), suffix: str = "",
            digits: int = 2) -> dict[str, float | int | None]:
    """``{"n": count, "p50": ..., "p95": ..., "max": ...}`` rounded to ``digits``.

    ``quantiles`` name the ``pQ`` keys, ``extras`` add ``mean`` / ``min`` / ``max``, and
    ``suffix`` is appended to every key but ``n`` (``"_ms"`` gives ``p50_ms``). Every
    key is present for no values too, as ``None``.
    """
    ordered = sorted(values)

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    out: dict[str, float | int | None] = {"n": len(ordered)}
    for q in quantiles:
        out[f"p{q}{suffix}"] = r(percentile(ordered, q))
    for extra in extras:
        value = None
        if ordered:
            value = {"mean": math.fsum(ordered) / len(ordered), "min": ordered[0],
                     "max": ordered[-1]}[extra]
        out[f"{extra}{suffix}"] = r(value)
    return out

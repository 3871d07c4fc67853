"""Confidence intervals and the paired comparison of two arms on the same items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

RESAMPLES = 2000
SEED = 17


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (a fixed seed: the same data, the same CI)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (float("nan"), float("nan"))
    if data.size == 1 or np.all(data == data[0]):
        return (float(data[0]), float(data[0]))
    rng = np.random.default_rng(SEED)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, Any]:
    """Exact McNemar test on paired right/wrong: ``b_only`` = right under b and wrong under a."""
    a_only = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": p}


def paired(
    base: dict[str, float], other: dict[str, float], *, right_wrong: bool = True
) -> dict[str, Any] | None:
    """``other`` minus ``base`` over the items both scored: mean difference, its bootstrap
    CI, and McNemar's test when the scores are right/wrong (1/0)."""
    ids = sorted(set(base) & set(other))
    if not ids:
        return None
    diffs = [other[i] - base[i] for i in ids]
    low, high = bootstrap_ci(diffs)
    out: dict[str, Any] = {
        "n": len(ids),
        "difference": float(np.mean(diffs)),
        "ci95": [low, high],
    }
    values = {base[i] for i in ids} | {other[i] for i in ids}
    if right_wrong and values <= {0.0, 1.0}:
        out["mcnemar"] = mcnemar([base[i] == 1 for i in ids], [other[i] == 1 for i in ids])
    return out

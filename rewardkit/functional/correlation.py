"""Agreement of a metric with people: Kendall's tau (b and c) and pairwise accuracy."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rewardkit.functional.finite import require_finite


def _tie_pairs(values: np.ndarray) -> int:
    """Pairs of positions holding equal values."""
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def concordance(x: Sequence[float], y: Sequence[float]) -> tuple[int, int, int, int]:
    """``(P - Q, pairs, pairs tied in x, pairs tied in y)`` over all pairs, in O(n log n).

    ``P``/``Q`` count concordant/discordant pairs; pairs tied in x or y count in neither.
    A Fenwick tree over y-ranks, filled one x-group at a time, counts for each item the
    earlier items (strictly smaller x) with smaller and with larger y.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of one length, not {xa.shape} and {ya.shape}")
    require_finite(xa, "x")
    require_finite(ya, "y")
    n = len(xa)
    order = np.lexsort((ya, xa))
    xs = xa[order]
    ranks = np.unique(ya, return_inverse=True)[1][order] + 1  # 1-based for the tree
    m = int(ranks.max()) if n else 0
    tree = [0] * (m + 1)

    def prefix(i: int) -> int:
        s = 0
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s

    s, inserted = 0, 0
    bounds = [0, *(np.flatnonzero(np.diff(xs)) + 1).tolist(), n]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        group = ranks[lo:hi].tolist()
        for r in group:
            below, upto = prefix(r - 1), prefix(r)
            s += below - (inserted - upto)
        for r in group:
            i = r
            while i <= m:
                tree[i] += 1
                i += i & -i
        inserted += hi - lo
    return s, n * (n - 1) // 2, _tie_pairs(xa), _tie_pairs(ya)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b: (P - Q) / sqrt((n0 - n1)(n0 - n2)); NaN when either side is constant."""
    s, n0, n1, n2 = concordance(x, y)
    denom = math.sqrt(float(n0 - n1) * float(n0 - n2))
    return s / denom if denom > 0 else float("nan")


def kendall_tau_c(x: Sequence[float], y: Sequence[float]) -> float:
    """Stuart's tau-c: 2 m (P - Q) / (n^2 (m - 1)), m the smaller number of distinct values; NaN when m < 2."""
    s, _, _, _ = concordance(x, y)
    n = len(x)
    m = min(len(np.unique(np.asarray(x, dtype=float))), len(np.unique(np.asarray(y, dtype=float))))
    if m < 2:
        return float("nan")
    return 2.0 * m * s / (float(n) ** 2 * (m - 1))


def kendall_tau(x: Sequence[float], y: Sequence[float], variant: str = "b") -> float:
    """Kendall's tau, ``variant`` "b" or "c" (as scipy.stats.kendalltau names them)."""
    if variant == "b":
        return kendall_tau_b(x, y)
    if variant == "c":
        return kendall_tau_c(x, y)
    raise ValueError(f"variant must be 'b' or 'c', not {variant!r}")


def pairwise_accuracy(
    scores_a: Sequence[float], scores_b: Sequence[float], prefer_a: Sequence[bool], *, ties: str = "b"
) -> float:
    """Fraction of pairs where the metric prefers the caption people preferred.

    ``ties``: how a tie in the metric counts. ``"b"`` predicts the second caption, as the
    Pascal-50S evaluation code does (``0 if a > b else 1``); ``"wrong"`` counts it as a miss
    (FOIL: the original must score strictly higher); ``"half"`` counts it as half right.
    """
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    want = np.asarray(prefer_a, dtype=bool)
    if not (a.shape == b.shape == want.shape) or a.ndim != 1:
        raise ValueError("scores_a, scores_b and prefer_a must be 1-D and of one length")
    require_finite(a, "scores_a")
    require_finite(b, "scores_b")
    if len(a) == 0:
        return float("nan")
    tie = a == b
    if ties == "b":
        right = (a > b) == want
    elif ties == "wrong":
        right = np.where(want, a > b, b > a)
    elif ties == "half":
        return float((np.where(want, a > b, b > a) + 0.5 * tie).mean())
    else:
        raise ValueError(f"ties must be 'b', 'wrong' or 'half', not {ties!r}")
    return float(right.mean())

"""Intervals for seeded comparisons: a two-level percentile bootstrap over seeds and evaluation items.

A trained arm is run with several seeds and every run is measured on the same evaluation items
(scenes). Each replicate draws the items once with replacement, shared by every arm so that
differences between arms are paired on items, and for each arm draws its runs (seeds) with
replacement; the arm's value in the replicate is the mean over the drawn runs of the statistic on
the drawn items. The interval is the percentile interval of the replicates (Efron & Tibshirani,
*An Introduction to the Bootstrap*, 1993, ch. 13; resampling at both levels of a nested design as
in Davison & Hinkley, *Bootstrap Methods and their Application*, 1997, sec. 3.8).

With one run per arm it is the ordinary percentile bootstrap over items
(``tests/functional/test_bootstrap.py`` checks it against ``scipy.stats.bootstrap``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

R = TypeVar("R")

Statistic = Callable[[Any, Any], float]
"""``statistic(run, items)``: a measure of one run over the item indices ``items`` (a numpy array)."""


def seeded_bootstrap(
    arms: Mapping[str, Sequence[R]],
    statistics: Mapping[str, Statistic],
    n_items: int,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Point estimates, percentile intervals per arm and measure, and intervals of every pairwise difference.

    ``arms``: arm name -> its runs (any objects ``statistics`` can read); ``statistics``: measure
    name -> ``statistic(run, items)``. Returns ``{"arms": {arm: {measure: {mean, lo, hi}}},
    "differences": {"B - A": {measure: {mean, lo, hi, outside}}}}`` where ``mean`` is the mean over
    the arm's runs on all items and ``outside`` says the difference's interval excludes 0.

    >>> import numpy as np
    >>> runs = {"a": [np.zeros(4)], "b": [np.ones(4)]}
    >>> out = seeded_bootstrap(runs, {"m": lambda r, i: float(r[i].mean())}, 4, n_boot=50)
    >>> out["differences"]["b - a"]["m"]
    {'mean': 1.0, 'lo': 1.0, 'hi': 1.0, 'outside': True}
    """
    import numpy as np

    if n_items < 1 or any(len(runs) == 0 for runs in arms.values()):
        raise ValueError("seeded_bootstrap needs at least one item and one run per arm")
    rng = np.random.default_rng(seed)
    everything = np.arange(n_items)
    point = {
        a: {m: float(np.mean([f(r, everything) for r in runs])) for m, f in statistics.items()}
        for a, runs in arms.items()
    }
    draws = {a: {m: np.empty(n_boot) for m in statistics} for a in arms}
    for b in range(n_boot):
        items = rng.integers(0, n_items, n_items)
        for a, runs in arms.items():
            chosen = [runs[i] for i in rng.integers(0, len(runs), len(runs))]
            for m, f in statistics.items():
                draws[a][m][b] = np.mean([f(r, items) for r in chosen])
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    out: dict[str, Any] = {"arms": {}, "differences": {}}
    for a in arms:
        out["arms"][a] = {}
        for m in statistics:
            lo, hi = np.percentile(draws[a][m], q)
            out["arms"][a][m] = {"mean": point[a][m], "lo": float(lo), "hi": float(hi)}
    names = list(arms)
    for i, a in enumerate(names):
        for b_name in names[i + 1 :]:
            diff = out["differences"][f"{b_name} - {a}"] = {}
            for m in statistics:
                lo, hi = np.percentile(draws[b_name][m] - draws[a][m], q)
                diff[m] = {
                    "mean": point[b_name][m] - point[a][m],
                    "lo": float(lo),
                    "hi": float(hi),
                    "outside": bool(lo > 0 or hi < 0),
                }
    return out

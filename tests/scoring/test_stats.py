"""Component statistics of OUT rows, streamed batch by batch or at once, against the statistics module."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from rewardkit.scoring.stats import ComponentStats, component_stats


def _records(n, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rec = {"id": i, "caption": "c", "a": rng.gauss(3, 2), "b": rng.choice([None, math.nan, rng.random()])}
        out.append(rec)
    return out


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_streamed_statistics_equal_the_statistics_module(batch):
    recs = _records(50)
    stats = ComponentStats()
    for i in range(0, len(recs), batch):
        stats.add_many(recs[i : i + batch])
    got = stats.result()
    a = [r["a"] for r in recs]
    b = [r["b"] for r in recs if r["b"] is not None and not math.isnan(r["b"])]
    assert stats.rows == 50 and set(got) == {"a", "b"}  # id and caption are not scores
    assert got["a"]["mean"] == pytest.approx(statistics.mean(a), rel=1e-12)
    assert got["a"]["std"] == pytest.approx(statistics.stdev(a), rel=1e-12)
    assert got["b"]["n"] == len(b) and got["b"]["mean"] == pytest.approx(statistics.mean(b), rel=1e-12)
    once = component_stats(recs)
    assert once["a"]["std"] == pytest.approx(statistics.stdev(a), rel=1e-12) and once["b"]["n"] == len(b)


def test_one_value_has_no_spread_and_a_bool_is_not_a_score():
    got = ComponentStats()
    got.add({"id": "x", "a": 2.0, "flag": True})
    assert got.result() == {"a": {"mean": 2.0, "std": 0.0, "n": 1}}

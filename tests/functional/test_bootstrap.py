"""The two-level seeded bootstrap: reduces to scipy's percentile bootstrap with one run, pairs arms on items."""

import numpy as np
import pytest

from rewardkit.functional.bootstrap import seeded_bootstrap


def _mean(run, items):
    return float(run[items].mean())


def test_one_run_matches_scipy_percentile_bootstrap():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1.0, 200)
    ours = seeded_bootstrap({"a": [x]}, {"m": _mean}, len(x), n_boot=6000, seed=1)["arms"]["a"]["m"]
    ref = scipy_stats.bootstrap((x,), np.mean, n_resamples=6000, method="percentile", random_state=2)
    assert ours["mean"] == pytest.approx(x.mean())
    # independent random streams: the endpoints agree to Monte-Carlo error (~0.01 here)
    assert ours["lo"] == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert ours["hi"] == pytest.approx(ref.confidence_interval.high, abs=0.02)


def test_identical_arms_differ_by_exactly_zero_and_shifted_arm_by_its_shift():
    rng = np.random.default_rng(0)
    runs = [rng.normal(size=50) for _ in range(3)]
    out = seeded_bootstrap(
        {"a": runs, "same": runs, "shifted": [r + 0.5 for r in runs]}, {"m": _mean}, 50, n_boot=300
    )
    # 'a' and 'same' draw different seeds in a replicate, so their difference varies, but its
    # point estimate is 0 and its interval straddles 0
    same = out["differences"]["same - a"]["m"]
    assert same["mean"] == 0.0 and same["lo"] < 0 < same["hi"] and not same["outside"]
    # a constant shift is the same on every item draw, but seed draws differ between arms
    shifted = out["differences"]["shifted - a"]["m"]
    assert shifted["mean"] == pytest.approx(0.5)
    assert shifted["lo"] < 0.5 < shifted["hi"]


def test_seed_level_variation_widens_the_interval():
    items = np.linspace(0, 1, 100)
    one = seeded_bootstrap({"a": [items]}, {"m": _mean}, 100, n_boot=800)["arms"]["a"]["m"]
    spread = [items - 0.3, items, items + 0.3]
    three = seeded_bootstrap({"a": spread}, {"m": _mean}, 100, n_boot=800)["arms"]["a"]["m"]
    assert three["mean"] == pytest.approx(one["mean"])
    assert (three["hi"] - three["lo"]) > 2 * (one["hi"] - one["lo"])


def test_refuses_empty_input():
    with pytest.raises(ValueError, match="at least one"):
        seeded_bootstrap({"a": []}, {"m": _mean}, 10)

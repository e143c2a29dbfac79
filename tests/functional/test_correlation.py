"""Kendall tau and pairwise accuracy against scipy and a brute-force count over all pairs."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.functional.correlation import (
    concordance,
    kendall_tau,
    kendall_tau_b,
    kendall_tau_c,
    pairwise_accuracy,
)


def brute_tau_c(x, y):
    """Stuart's tau-c written out over every pair (the textbook definition, independent of the code under test)."""
    n = len(x)
    s = 0
    for i, j in itertools.combinations(range(n), 2):
        s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    m = min(len(set(x)), len(set(y)))
    return 2 * m * s / (n * n * (m - 1))


values = st.lists(st.integers(0, 4), min_size=3, max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_tau_b_and_c_equal_scipy_and_brute_force_with_ties(data):
    x = data.draw(values)
    y = data.draw(
        st.lists(
            st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 1)), min_size=len(x), max_size=len(x)
        )
    )
    ref_b = scipy.stats.kendalltau(x, y, variant="b").statistic
    ref_c = scipy.stats.kendalltau(x, y, variant="c").statistic
    got_b, got_c = kendall_tau_b(x, y), kendall_tau_c(x, y)
    if math.isnan(ref_b):
        assert math.isnan(got_b)
    else:
        assert got_b == pytest.approx(ref_b, abs=1e-12)
    if len(set(x)) > 1 and len(set(y)) > 1:
        assert got_c == pytest.approx(ref_c, abs=1e-12)
        assert got_c == pytest.approx(brute_tau_c(x, y), abs=1e-12)


def test_large_input_matches_scipy():
    rng = np.random.default_rng(0)
    human = rng.integers(1, 5, 20_000).astype(float)  # Flickr8K-Expert-like 1-4 ratings, many ties
    metric = human + rng.normal(0, 1.5, len(human))
    for v in ("b", "c"):
        assert kendall_tau(metric, human, v) == pytest.approx(
            scipy.stats.kendalltau(metric, human, variant=v).statistic, abs=1e-12
        )


def test_concordance_counts_by_hand():
    # pairs: (0,1) concordant, (0,2) tied in y, (1,2) discordant
    assert concordance([1, 2, 3], [1, 2, 1]) == (0, 3, 0, 1)
    with pytest.raises(ValueError, match="NaN"):
        concordance([1, float("nan")], [1, 2])
    with pytest.raises(ValueError, match="variant"):
        kendall_tau([1, 2], [1, 2], "a")


def test_pairwise_accuracy_tie_conventions():
    a, b = [2.0, 1.0, 1.0, 0.0], [1.0, 2.0, 1.0, 1.0]
    prefer_a = [True, True, False, False]
    # pair 1 right, pair 2 wrong, pair 3 tie (predicts B: right under "b"), pair 4 right
    assert pairwise_accuracy(a, b, prefer_a, ties="b") == 0.75
    assert pairwise_accuracy(a, b, prefer_a, ties="wrong") == 0.5
    assert pairwise_accuracy(a, b, prefer_a, ties="half") == 0.625
    assert math.isnan(pairwise_accuracy([], [], []))

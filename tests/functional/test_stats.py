"""NaN-aware statistics and hackability against numpy and hand-computed values."""

import math

import numpy as np
import pytest
import torch

from rewardkit.functional.stats import hackability, nan_mean, nan_mean_std

NAN = float("nan")


@pytest.mark.parametrize(
    "values",
    [
        [1.0, NAN, 3.0, 10.5],
        [0.1, 0.2, 0.3, NAN, NAN, -7.25, 1e6],
        [2.0, 2.0],
        [5.0],
    ],
)
def test_nan_mean_std_of_floats_equals_numpy(values):
    mean, std, n = nan_mean_std(values)
    arr = np.array(values, dtype=np.float64)
    assert n == int(np.sum(~np.isnan(arr)))
    assert mean == pytest.approx(float(np.nanmean(arr)), rel=1e-15)
    expected_std = float(np.nanstd(arr, ddof=1)) if n > 1 else 0.0
    assert std == pytest.approx(expected_std, rel=1e-12, abs=1e-300)
    assert nan_mean(values) == mean
    assert nan_mean_std(values, ddof=0)[1] == pytest.approx(float(np.nanstd(arr, ddof=0)), rel=1e-12)


def test_nan_mean_std_of_nothing_finite():
    assert all(map(math.isnan, (nan_mean([]), nan_mean([NAN, NAN]))))
    mean, std, n = nan_mean_std([NAN])
    assert math.isnan(mean) and (std, n) == (0.0, 0)


def test_a_tensor_is_reduced_in_its_own_dtype_like_numpy_float32():
    values = [0.8235583, NAN, 0.6, 0.91, 0.77, NAN, 0.123]
    mean, std, n = nan_mean_std(torch.tensor(values))  # float32, as the trainer logs it
    arr = np.array(values, dtype=np.float32)
    assert n == 5
    assert mean == pytest.approx(float(np.nanmean(arr)), rel=1e-6)
    assert std == pytest.approx(float(np.nanstd(arr, ddof=1)), rel=1e-5)
    assert mean == float(np.float32(mean))  # a float32 value, not a double
    one = nan_mean_std(torch.tensor([NAN, 4.0]))
    assert one == (4.0, 0.0, 1)
    none = nan_mean_std(torch.tensor([NAN]))
    assert math.isnan(none[0]) and none[1:] == (0.0, 0)


def test_hackability_by_hand():
    # edits gain 0.5, -1.0 and NaN; full descriptions score 2.0 above terse ones: 0.5 / 2.0
    assert hackability([0.5, -1.0, NAN], 2.0) == 0.25
    assert hackability([-0.5, -1.0], 2.0) == 0.0  # no edit gains
    assert hackability([], 4.0) == 0.0 and hackability([NAN], 4.0) == 0.0
    assert hackability([3.0, 1.0], 1.5) == 2.0  # an edit may gain more than describing the scene
    assert math.isnan(hackability([0.5], 0.0)) and math.isnan(hackability([0.5], -1.0))

"""Assembling a reward from its components: the NaN-aware weighted total."""

from __future__ import annotations

import math

from rewardkit.functional.assembly import weighted_total


def test_weighted_total_is_nan_aware_and_matches_a_hand_sum():
    values = {"itm": [1.0, math.nan, math.nan], "ref": [-2.0, -1.0, math.nan], "bad": [3.0, 0.0, math.nan]}
    totals = weighted_total(values, {"itm": 1.0, "ref": 0.5, "bad": -1.0})
    assert totals[:2] == [1.0 - 1.0 - 3.0, -0.5] and math.isnan(totals[2])

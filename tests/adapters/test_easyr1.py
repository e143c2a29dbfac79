"""The EasyR1 adapter names inputs that lack their keys."""

from __future__ import annotations

import pytest


def test_easyr1_inputs_without_their_keys_are_named():
    from rewardkit.adapters.easyr1 import compute_score
    from rewardkit.errors import RewardkitError

    with pytest.raises(RewardkitError, match=r"reward_inputs\[0\]: missing 'ground_truth'"):
        compute_score([{"response": "a red circle"}])

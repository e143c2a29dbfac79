"""Reward benchmarks: every data error surfaces before any model loads."""

import pytest

from rewardkit.bench.reward_run import run_reward_benches
from rewardkit.errors import RewardkitError


def test_data_errors_come_before_any_model_loads(tmp_path):
    with pytest.raises(RewardkitError, match="no data/test-"):
        run_reward_benches(
            ["no-such-preset"],
            ["toy-foil", "nebula"],
            data_dir=tmp_path,
            limit=None,
            seed=0,
            out=tmp_path,
            device="cpu",
            batch_size=2,
        )

"""RemoteReward checks its arguments before any request."""

from __future__ import annotations

import pytest

from rewardkit.errors import ArgumentError


def test_remote_reward_refuses_a_lone_string_before_any_request():
    from rewardkit.client import RemoteReward

    reward = RemoteReward("http://127.0.0.1:9", name="toy")  # nothing listens: no request may be made
    with pytest.raises(ArgumentError, match="single str"):
        reward(prompts=[""] * 3, completions="abc", image=["a.png"] * 3)

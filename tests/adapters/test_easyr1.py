"""The EasyR1 adapter: batch scores remote and in-process; inputs without their keys are named."""

from __future__ import annotations

import pytest

from tests.service import assert_close, in_process, toy_rows


def test_easyr1_inputs_without_their_keys_are_named():
    from rewardkit.adapters.easyr1 import compute_score
    from rewardkit.errors import RewardkitError

    with pytest.raises(RewardkitError, match=r"reward_inputs\[0\]: missing 'ground_truth'"):
        compute_score([{"response": "a red circle"}])


def test_easyr1_batch_compute_score(server, toy_reward, mode):
    from rewardkit.adapters import easyr1

    rows = toy_rows(2)
    inputs = [{"response": r["caption"], "response_length": 12, "ground_truth": r["image"]} for r in rows]
    got = easyr1.compute_score(inputs)
    assert easyr1.REWARD_TYPE == "batch"
    want = in_process(toy_reward, rows, server["root"])
    assert [set(g) for g in got] == [{"overall", "itm", "itc", "ref", "bad", "repeat", "noeos"}] * 2
    assert_close([g["overall"] for g in got], want["total"])
    assert_close([g["itc"] for g in got], want["itc"])

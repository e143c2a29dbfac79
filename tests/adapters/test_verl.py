"""The verl adapter in its call shape (sync and async), remote and in-process."""

from __future__ import annotations

import asyncio

import pytest

from tests.service import assert_close, in_process, toy_rows


def test_verl_compute_score_sync_and_async(server, toy_reward, mode):
    from rewardkit.adapters.verl import compute_score, compute_score_async

    r = toy_rows(2)[1]
    kwargs = dict(
        data_source="toy",
        solution_str=r["caption"],
        ground_truth=r["references"],
        extra_info={
            "image": r["image"],
            "ended_with_eos": False,
            "num_turns": None,
            "rollout_reward_scores": {},
        },
        reward_router_address=None,
        reward_model_tokenizer=None,
    )
    got = compute_score(**kwargs)
    want = in_process(toy_reward, [r], server["root"], references=[r["references"]], ended_with_eos=[False])
    assert set(got) == {"score", "itm", "itc", "ref", "bad", "repeat", "noeos"}
    assert_close([got["score"]], want["total"])
    assert got["noeos"] == 1.0
    assert asyncio.run(compute_score_async(**kwargs)) == pytest.approx(got, abs=1e-5)

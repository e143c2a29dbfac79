"""The OpenRLHF adapter in its call shape, remote and in-process."""

from __future__ import annotations

import json

from tests.service import assert_close, in_process, toy_rows


def test_openrlhf_reward_func(server, toy_reward, mode):
    from rewardkit.adapters.openrlhf import reward_func

    rows = toy_rows(3)
    prompt = "Describe the image: "
    labels = [json.dumps({"image": r["image"], "references": r["references"]}) for r in rows]
    got = reward_func([prompt + r["caption"] for r in rows], [prompt] * 3, labels)
    want = in_process(toy_reward, rows, server["root"], references=[r["references"] for r in rows])
    assert_close(got["rewards"], want["total"])
    assert_close(got["extra_logs"]["ref"], want["ref"])
    assert got["scores"] == got["rewards"]

"""The slime adapter in its call shapes (one sample and batched), remote and in-process."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from PIL import Image

from tests.service import assert_close, in_process, toy_rows


def test_slime_custom_rm_and_batched(server, toy_reward, mode):
    from rewardkit.adapters.slime import batched_custom_rm, custom_rm

    rows = toy_rows(3)
    with Image.open(server["root"] / rows[0]["image"]) as im:
        picture = im.convert("RGB")
    samples = [
        SimpleNamespace(
            prompt="Describe.",
            response=rows[0]["caption"],
            label=None,
            metadata={},
            multimodal_inputs={"images": [picture]},
        ),
        SimpleNamespace(
            prompt=[{"role": "user", "content": "Describe."}],
            response=rows[1]["caption"],
            label=rows[1]["image"],
            metadata={},
            multimodal_inputs=None,
        ),
        SimpleNamespace(
            prompt="Describe.",
            response=rows[2]["caption"],
            label=None,
            metadata={"image": rows[2]["image"], "references": rows[2]["references"]},
            multimodal_inputs=None,
        ),
    ]
    want = [in_process(toy_reward, [r], server["root"])["total"][0] for r in rows]
    plain = SimpleNamespace(reward_key=None)
    keyed = SimpleNamespace(reward_key="total")
    got = [asyncio.run(custom_rm(plain, s)) for s in samples]
    assert_close(got, want)
    as_dict = asyncio.run(custom_rm(keyed, samples[1]))
    assert set(as_dict) == {"total", "itm", "itc", "ref", "bad", "repeat", "noeos"}
    assert_close([as_dict["total"]], want[1:2])
    assert_close(asyncio.run(batched_custom_rm(plain, samples)), want)

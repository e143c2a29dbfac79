"""Scoring request rows batched across requests: Φ per request and per group value, never across requests."""

from __future__ import annotations

import math

import pytest

from rewardkit.serving.handler import Rows, score_rows


@pytest.fixture(scope="module")
def tiny_reward(preset_file):
    from rewardkit.presets import build_reward

    return build_reward(str(preset_file), device="cpu")


def _rows(images, captions, group=None):
    keys = [f"k{id(im)}" for im in images]
    return Rows(list(captions), list(images), keys, group=group)


def test_phi_is_computed_per_request_never_across_requests(tiny_reward, images):
    a = _rows(images[:3], ["a dog", "two cats", "a red car"])
    b = _rows(images[3:6], ["a tree", "a man on a horse", "the sea"])
    together = score_rows(tiny_reward, [a, b])
    for rows, got in zip((a, b), together):
        alone = tiny_reward.score_components(rows.captions, images=rows.images, image_keys=rows.image_keys)
        assert set(got) == set(alone)
        for name in alone:
            assert got[name] == pytest.approx(alone[name], abs=1e-5, nan_ok=True)
    merged = tiny_reward.score_components(
        a.captions + b.captions, images=a.images + b.images, image_keys=a.image_keys + b.image_keys
    )
    # Φ over six rows differs from Φ over each request's three: batching across requests would show here
    assert together[0]["phi"] != pytest.approx(merged["phi"][:3], abs=1e-5)


def test_phi_per_group_value(tiny_reward, images):
    rows = _rows(images[:4], ["a dog", "two cats", "a red car", "a tree"], group=["x", 1, "x", 1])
    (got,) = score_rows(tiny_reward, [rows])
    for index in ([0, 2], [1, 3]):
        sub = rows.take(index)
        alone = tiny_reward.score_components(sub.captions, images=sub.images, image_keys=sub.image_keys)
        assert [got["phi"][i] for i in index] == pytest.approx(alone["phi"], abs=1e-5)
    single = _rows(images[:1], ["a dog"])
    assert math.isnan(score_rows(tiny_reward, [single])[0]["phi"][0])

"""The in-memory scoring core: score_rows against each component scored alone and against the models."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from rewardkit.io.images import load_image
from rewardkit.presets import build_backend, build_reward, model_spec
from rewardkit.rewards import BadPhrasePenalty, ComposedReward, RepeatPenalty
from rewardkit.scoring.core import score_rows
from rewardkit.scoring.row import Row, RowError
from rewardkit.scoring.rows import read_rows
from tests.scoring.conftest import toy_captions

ROOT = Path(__file__).resolve().parents[2]
CAPTIONS = [
    "an image of a dog and a dog",
    "a cat",
    "a picture of a cat on a cat mat",
    "",
    "an image of an image of a bird",
]


@pytest.fixture(scope="module")
def toy_rows(tmp_path_factory):
    rows, errors = read_rows(toy_captions(tmp_path_factory.mktemp("toy"), 7))
    assert not errors
    return rows


@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_text_rewards_equal_each_component_scored_alone_and_their_weighted_sum(batch_size):
    bad, repeat = BadPhrasePenalty(["an image of", "a picture of"]), RepeatPenalty()
    reward = ComposedReward({"bad": (bad, -1.0), "repeat": (repeat, -0.5)})
    rows = [Row(i + 1, f"r{i}", c) for i, c in enumerate(CAPTIONS)]
    got = score_rows(rows, reward, batch_size)
    assert [r["id"] for r in got] == [f"r{i}" for i in range(len(CAPTIONS))]
    assert [r["caption"] for r in got] == CAPTIONS
    for rec, caption in zip(got, CAPTIONS):
        b, p = bad.score([caption])[0], repeat.score([caption])[0]  # each penalty on its own caption
        assert rec["bad"] == b and rec["repeat"] == p
        assert rec["total"] == pytest.approx(math.fsum([-1.0 * b, -0.5 * p]), abs=1e-12)
    assert got[0]["bad"] == 3.0 and got[0]["repeat"] == 1.0  # the composed reward's documented example
    assert list(score_rows(rows[:1], reward, echo=False)[0]) == ["id", "bad", "repeat", "total"]


def test_model_rewards_equal_the_backends_on_each_image_alone(toy_rows):
    reward = build_reward("toy", only=["itm", "ref", "bad"], device="cpu")
    got = score_rows(toy_rows, reward, 3)
    itm = build_backend(model_spec("toy-itm"), device="cpu")
    ref = build_backend(model_spec("toy-opt"), device="cpu")
    for row, rec in zip(toy_rows, got):
        image = load_image(row.image).image
        expected_itm = float(itm.itm_logits([image], [row.caption])[0])
        expected_ref = float(ref.mean_logprob([row.caption])[0])
        assert rec["id"] == row.id and rec["image"] == row.image_text
        assert rec["itm"] == pytest.approx(expected_itm, abs=1e-4)
        assert rec["ref"] == pytest.approx(expected_ref, abs=1e-4)
        assert rec["total"] == pytest.approx(
            expected_itm + expected_ref + rec["bad"] * reward.weights["bad"], abs=1e-3
        )


def test_an_unreadable_image_is_the_rows_error_naming_its_line(toy_rows, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    rows = [*toy_rows[:2], Row(9, "bad-image", "a cat", image=broken, image_text="broken.png")]
    reward = build_reward("toy", only=["itm"], device="cpu")
    with pytest.raises(RowError, match=r"caps\.jsonl:9 \(id 'bad-image'\): image 'broken\.png'"):
        score_rows(rows, reward, 2, path="caps.jsonl")


def test_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        score_rows([], ComposedReward({"bad": BadPhrasePenalty()}), 0)


def test_phi_is_computed_over_each_fixed_batch(toy_rows):
    from rewardkit.functional.clip import retrieval_softmax_phi
    from rewardkit.rewards.vision import RetrievalPhi

    clip = build_backend(model_spec("toy-clip"), device="cpu")
    phi = ComposedReward({"phi": RetrievalPhi(clip)})
    got = score_rows(toy_rows, phi, 3)
    images = [load_image(r.image).image for r in toy_rows]
    for start in range(0, len(toy_rows), 3):  # the reference: Φ of VLRM Eq. 5 over each batch of 3
        batch = slice(start, start + 3)
        sim = clip.encode_images(images[batch]) @ clip.encode_texts([r.caption for r in toy_rows[batch]]).T
        expected = retrieval_softmax_phi(sim).tolist() if sim.shape[0] > 1 else [math.nan]
        for rec, value in zip(got[batch], expected):
            if math.isnan(value):
                assert rec["phi"] is None
            else:
                assert rec["phi"] == pytest.approx(value, abs=1e-5)
    assert torch.isfinite(torch.tensor([r["phi"] for r in got[:6]])).all()

"""Φ (VLRM Eq. 5) over distinct images: repeats refused by the reward, split into groups by trainer and scorer."""

from __future__ import annotations

import math

import pytest
import torch

from rewardkit.errors import RewardkitError
from rewardkit.functional.clip import distinct_image_groups, occurrence_groups
from rewardkit.presets import build_reward


def phi_by_hand(img: torch.Tensor, txt: torch.Tensor) -> list[float]:
    """Eq. 5 written out: D_k = softmax over images (column k) [k] * softmax over texts (row k) [k]; z-scored, unbiased std."""
    img = torch.nn.functional.normalize(img.double(), dim=-1)
    txt = torch.nn.functional.normalize(txt.double(), dim=-1)
    n = img.shape[0]
    s = [[float(img[i] @ txt[j]) for j in range(n)] for i in range(n)]
    d = []
    for k in range(n):
        col = sum(math.exp(s[i][k]) for i in range(n))
        row = sum(math.exp(s[k][j]) for j in range(n))
        d.append(math.exp(s[k][k]) / col * math.exp(s[k][k]) / row)
    mean = sum(d) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    return [(x - mean) / std for x in d]


def test_groups_of_an_image_major_batch():
    assert distinct_image_groups(3, 2) == [[0, 2, 4], [1, 3, 5]]
    keys = [i for i in range(5) for _ in range(4)]
    assert occurrence_groups(keys) == distinct_image_groups(5, 4)
    assert occurrence_groups(["x", "y", "x", "x"]) == [[0, 1], [2], [3]]
    for groups in (distinct_image_groups(7, 3), occurrence_groups(list("abcabca"))):
        for g in groups:
            assert len(g) == len(set(g))


@pytest.fixture(scope="module")
def phi_reward(preset_file):
    return build_reward(preset_file, only=["phi"], device="cpu")


def test_phi_refuses_repeated_images_in_one_call(phi_reward, images, tmp_path):
    caps = ["a red car", "a cat", "two dogs"]
    with pytest.raises(
        RewardkitError, match=r"^phi \(VLRM Eq. 5\): captions 0 and 2 of this call share an image"
    ):
        phi_reward.score_components(caps, images=[images[0], images[1], images[0]])
    # the same pixels in another object, and the same file under two names, are the same image
    copy = images[0].copy()
    with pytest.raises(RewardkitError, match="share an image"):
        phi_reward.score_components(caps[:2], images=[images[0], copy])
    images[0].save(tmp_path / "a.png")
    images[0].save(tmp_path / "b.png")
    with pytest.raises(RewardkitError, match="share an image"):
        phi_reward.score_components(caps[:2], images=[tmp_path / "a.png", tmp_path / "b.png"])
    assert len(phi_reward.score_components(caps, images=images[:3])["phi"]) == 3


def test_trainer_phi_on_a_batch_with_repeats_equals_the_per_group_computation(
    train_config_file, tmp_path, images
):
    from rewardkit.train.a2c import A2CTrainer
    from rewardkit.train.config import load_config

    trainer = A2CTrainer(load_config("toy", train_config_file), tmp_path / "run", log=lambda s: None)
    s = trainer.config.samples_per_image
    assert s == 2
    pics = images[:4]
    caps = [f"caption {c} of image {i}" for i in range(4) for c in ("one", "two")]
    batch = [im for im in pics for _ in range(s)]  # image-major, as the trainer samples
    got = trainer.score_components(caps, batch, [True] * len(caps))["phi"]
    backend = next(c.reward.backend for c in trainer.reward.components if c.name == "phi")
    expected = [math.nan] * len(caps)
    for j in range(s):
        idx = [i * s + j for i in range(4)]
        img = backend.encode_images([batch[i] for i in idx])
        txt = backend.encode_texts([caps[i] for i in idx])
        for i, v in zip(idx, phi_by_hand(img, txt)):
            expected[i] = v
    assert got == pytest.approx(expected, abs=1e-5)
    # and not the quantity over the whole batch (where a caption competes with its own image's samples)
    assert all(not math.isnan(x) for x in got)


def test_scoring_a_file_with_several_captions_per_image_groups_them(preset_file, images):
    from rewardkit.rewards.groups import score_components_grouped

    reward = build_reward(preset_file, only=["phi", "itm"], device="cpu")
    caps = ["a", "b", "c", "d", "e"]
    ims = [images[0], images[1], images[0], images[2], images[1]]
    keys = ["k0", "k1", "k0", "k2", "k1"]
    got = score_components_grouped(reward, caps, keys, images=ims, image_keys=keys)
    first = reward.score_components(
        ["a", "b", "d"], images=[images[0], images[1], images[2]], image_keys=["k0", "k1", "k2"]
    )
    second = reward.score_components(["c", "e"], images=[images[0], images[1]], image_keys=["k0", "k1"])
    assert got["phi"] == pytest.approx(
        [first["phi"][0], first["phi"][1], second["phi"][0], first["phi"][2], second["phi"][1]]
    )
    whole = reward.score_components(caps, images=ims, image_keys=[f"u{i}" for i in range(5)])
    assert got["itm"] == pytest.approx(whole["itm"], abs=1e-5)  # batch-independent parts are unchanged

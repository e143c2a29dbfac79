"""The shared toy caption-quality evaluation: retrieval against a brute-force ranking, detail and claims by hand."""

import math

import pytest

from rewardkit.registry import TIERS
from rewardkit.toy import scenes as sc
from rewardkit.toy.evaluation import caption_quality, detail_quality, eval_set, evaluator

TOY = TIERS.get("toy")


def _brute_force_r1(captions, images, clip):
    sim = clip.encode_texts(captions) @ clip.encode_images(images).T
    return sum(int(sim[i].argmax()) == i for i in range(len(captions))) / len(captions)


def test_full_descriptions_are_exact_and_retrieval_matches_a_brute_force_ranking():
    scenes, images = eval_set(TOY, 24, 4242)
    clip = evaluator(TOY)
    full = [sc.full(s) for s in scenes]
    q = caption_quality(full, scenes, images, TOY, clip=clip)
    assert q["R@1"] == pytest.approx(_brute_force_r1(full, images, clip))
    assert q["R@1"] <= q["R@5"] <= 1 and 0 < q["MRR"] <= 1
    assert q["grammatical"] == q["claim_precision"] == q["claim_recall"] == q["main_correct"] == 1.0
    assert q["with_false_claim"] == 0.0 and q["detail_share"] == 1.0
    assert all(q[f"correct_{k}"] == 1.0 for k in sc.DETAILS if q[f"stated_{k}"])
    assert q["mean_words"] == sum(len(c.split()) for c in full) / len(full)
    terse = caption_quality([sc.terse(s) for s in scenes], scenes, images, TOY, clip=clip)
    assert terse["detail_share"] == 0.0 and terse["mean_words"] == 3.0 and terse["R@1"] < q["R@1"]
    assert all(math.isnan(terse[f"correct_{k}"]) and terse[f"stated_{k}"] == 0 for k in sc.DETAILS)


def test_detail_by_hand():
    scene = sc.Scene(
        "gray",
        (
            sc.ToyObject("circle", "red", "large", "top left"),
            sc.ToyObject("square", "blue", "small", "bottom right"),
        ),
    )
    captions = [
        "a red circle.",  # terse: no detail
        "a small red circle on a gray background.",  # size wrong, background right
        "a blue square in the top left.",  # not the main object; its position wrong
    ]
    d = detail_quality(captions, [scene] * 3, TOY)
    assert d["detail_share"] == pytest.approx(2 / 3) and d["main_correct"] == pytest.approx(2 / 3)
    assert d["stated_size"] == pytest.approx(1 / 3) and d["correct_size"] == 0.0
    assert d["stated_background"] == pytest.approx(1 / 3) and d["correct_background"] == 1.0
    assert d["stated_position"] == pytest.approx(1 / 3) and d["correct_position"] == 0.0
    assert d["with_false_claim"] == pytest.approx(2 / 3)


def test_lengths_must_agree():
    scenes, images = eval_set(TOY, 3, 1)
    with pytest.raises(ValueError, match="2 captions for 3 scenes"):
        caption_quality(["a.", "b."], scenes, images, TOY, clip=None)

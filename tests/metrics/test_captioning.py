"""COCO metrics: our tokenizer and CIDEr-D plugged into pycocoevalcap's BLEU/ROUGE/METEOR."""

import shutil

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from rewardkit.functional import ptb_tokenize
from rewardkit.metrics.captioning import coco_metrics

CANDS = {
    "a": "A man riding a wave on a surfboard.",
    "b": "Two dogs playing in the park",
    "c": "A plate of food",
}
REFS = {
    "a": ["A surfer rides a large wave.", "A man on a surfboard riding a wave."],
    "b": ["Two dogs play with a frisbee in the park.", "Dogs running on grass."],
    "c": ["A plate with broccoli and rice.", "Food on a white plate."],
}


def _tok():
    res = {k: ptb_tokenize([v]) for k, v in CANDS.items()}
    gts = {k: ptb_tokenize(v) for k, v in REFS.items()}
    return res, gts


def test_matches_pycocoevalcap_on_tokenized_input():
    res, gts = _tok()
    out, notes = coco_metrics(CANDS, REFS, meteor=False, spice=False)
    assert out["CIDEr-D"] == pytest.approx(Cider().compute_score(gts, res)[0], abs=1e-9)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    assert [out[f"BLEU-{n}"] for n in range(1, 5)] == pytest.approx(bleu)
    assert 0 < out["ROUGE-L"] <= 1
    assert any("SPICE" in n for n in notes)


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR and the Java tokenizer need Java")
def test_meteor_and_java_tokenizer_when_java_is_present():
    ours, _ = coco_metrics(CANDS, REFS, spice=False)
    java, _ = coco_metrics(CANDS, REFS, java_tokenizer=True, spice=False)
    assert 0 < ours["METEOR"] < 1
    assert ours == pytest.approx(java)


def test_no_references_means_no_metrics():
    assert coco_metrics({"a": "x"}, {"a": []}) == ({}, ["no references: reference-based metrics left out"])

"""ESP-style scores: the protocol pieces, the loader on the real annotation file, and the per-style report."""

import json
from pathlib import Path

import pytest

from rewardkit.metrics.captioning import coco_metrics
from rewardkit.metrics.esp import (
    ESP_STYLES,
    cut_hypotheses,
    distinct_n,
    esp_scores,
    first_sentences,
    load_esp,
    self_bleu,
)

ESP = Path(__file__).resolve().parents[3] / "shared" / "data" / "esp" / "dataset_v_0_2.json"


def test_first_sentences_and_cut():
    assert first_sentences('He said "hi." Then left! And more. Last') == 'He said "hi." Then left!'
    assert first_sentences("no end mark") == "no end mark"
    refs = ["a b c d", "a b"]  # mean PTB length 3
    assert cut_hypotheses(["One, two three four five."], refs) == ["one two three"]


def test_diversity_scores():
    assert distinct_n(["a dog runs", "a dog runs"], 2) == 0.5
    assert distinct_n([], 1) == 0.0
    same = self_bleu(["a dog runs in the park", "a dog runs in the park"])
    different = self_bleu(["a dog runs in the park", "stocks fell sharply on monday morning"])
    assert same == pytest.approx(1.0) and different < 0.1


@pytest.mark.skipif(not ESP.exists(), reason="the ESP annotation file is not at ../shared/data/esp")
def test_loader_reads_the_real_annotation_file():
    rows = load_esp(str(ESP))
    assert len(rows) == 4373
    assert {r["style"] for r in rows} == set(ESP_STYLES)
    assert all(r["image"].startswith("COCO_val2014_") for r in rows)
    data = json.loads(ESP.read_text())
    assert len({r["image"] for r in rows}) == len(data["images"]) == 996


def test_per_style_scores_follow_the_protocol():
    rows = [
        {
            "image": "1.jpg",
            "style": "news",
            "caption": "A dog runs in a park today. It is sunny.",
            "references": ["A dog runs in the park. It is sunny. Extra sentence here."],
        },
        {
            "image": "2.jpg",
            "style": "news",
            "caption": "Cats sleep.",
            "references": ["Two cats sleep on a sofa. They are tired."],
        },
        {
            "image": "1.jpg",
            "style": "story",
            "caption": "Once upon a time a dog ran.",
            "references": ["Once a dog ran far away."],
        },
    ]
    out = esp_scores(rows, per_caption={"itm": [1.0, 3.0, float("nan")]}, meteor=False)
    news_refs = [first_sentences(r["references"][0]) for r in rows[:2]]
    hyps = cut_hypotheses([r["caption"] for r in rows[:2]], news_refs)
    want, _ = coco_metrics(
        {"0": hyps[0], "1": hyps[1]}, {"0": [news_refs[0]], "1": [news_refs[1]]}, meteor=False, spice=False
    )
    assert out["styles"]["news"]["CIDEr-D"] == pytest.approx(want["CIDEr-D"])
    assert out["styles"]["news"]["BLEU-4"] == pytest.approx(want["BLEU-4"])
    assert out["styles"]["news"]["itm"] == 2.0 and "itm" not in out["styles"]["story"]
    assert out["mean"]["CIDEr-D"] == pytest.approx(
        (out["styles"]["news"]["CIDEr-D"] + out["styles"]["story"]["CIDEr-D"]) / 2
    )
    assert set(out["diversity"]) == {"distinct-1", "distinct-2", "self-BLEU-4"}

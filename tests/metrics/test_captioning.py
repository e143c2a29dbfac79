"""COCO metrics: our tokenizer and CIDEr-D plugged into pycocoevalcap's BLEU/ROUGE/METEOR."""

import json
import shutil

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from typer.testing import CliRunner

import rewardkit.functional.ptb as ptb
from rewardkit.cli.main import app
from rewardkit.errors import RewardkitError
from rewardkit.functional import ptb_tokenize
from rewardkit.metrics.captioning import coco_metrics, java_ptb_tokenize
from tests.functional.ptb_java import have_java

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


SEPARATORS = ["\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\n"]


@pytest.fixture(scope="module", autouse=True)
def _java():
    assert have_java(), "these tests run the Java tokenizer (apt install default-jre-headless)"


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s[-1]):04X}" for s in SEPARATORS])
def test_two_row_file_keeps_bleu4_with_every_line_separator(tmp_path, sep):
    rows = [
        {"id": "a", "caption": f"a man riding a{sep}wave on a surfboard", "references": ["a man riding a wave on a surfboard"]},
        {"id": "b", "caption": "two dogs playing with a red ball in the park", "references": ["two dogs playing with a red ball in the park"]},
    ]  # fmt: skip
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(dict(r, image="x.png")) + "\n" for r in rows), encoding="utf-8")
    preset = tmp_path / "text.yaml"
    preset.write_text("name: text\ncomponents:\n  - reward: bad\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(
        app, ["score", str(path), "-p", str(preset), "-o", str(out), "--java-tokenizer", "-q"]
    )
    assert r.exit_code == 0, r.output
    coco = json.loads((tmp_path / "out.summary.json").read_text())["coco"]
    assert coco["BLEU-4"] == pytest.approx(1.0, abs=1e-6)  # misaligned rows gave 0.014
    assert coco["CIDEr-D"] > 9.9


def test_java_path_equals_the_python_tokenizer_on_separators():
    texts = [f"a dog{s}runs. Mo." for s in SEPARATORS] + ["", "\u200b", "U.S.", "The end."]
    assert java_ptb_tokenize(texts) == ptb_tokenize(texts)


def test_a_misaligned_java_output_is_refused(monkeypatch):
    monkeypatch.setattr(ptb, "_SEPARATORS_TO_SPACE", {})  # as pycocoevalcap: a "\r" reaches Java
    with pytest.raises(RewardkitError, match="returned 3 lines for 2 captions"):
        java_ptb_tokenize(["a dog\rruns", "a cat"])

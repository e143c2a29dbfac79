"""``--java-tokenizer``: one caption per line whatever separators a caption holds, or a loud refusal."""

import json

import pytest
from typer.testing import CliRunner

import rewardkit.functional.ptb as ptb
from rewardkit.cli.main import app
from rewardkit.errors import RewardkitError
from rewardkit.functional import ptb_tokenize
from rewardkit.metrics.captioning import java_ptb_tokenize
from tests.functional.ptb_java import have_java

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

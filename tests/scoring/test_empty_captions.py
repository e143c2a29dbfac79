"""Empty captions are captions: read, scored, counted; the COCO metrics are pycocoevalcap's with them."""

import contextlib
import io
import json

import pytest

from rewardkit.functional import is_empty_caption
from rewardkit.scoring.pipeline import ScoreConfig, score_file
from rewardkit.scoring.rows import read_rows
from tests.functional.ptb_java import have_java

REFS = [
    ["a red square on a white background.", "a large red square."],
    ["a blue circle in the top left.", "a small blue circle."],
    ["two green triangles.", "a pair of green triangles on gray."],
    ["a yellow star.", "a yellow star in the middle."],
    ["a black diamond at the bottom.", "a dark diamond."],
]
CAPTIONS = ["a red square.", "", "   ", "\u200b\u2063", "a dark diamond at the bottom."]


def _pycocoevalcap(captions, refs):
    """The toolkit's own numbers: Java PTBTokenizer, then its CIDEr-D, BLEU and ROUGE-L scorers."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    with contextlib.redirect_stdout(io.StringIO()):
        res = tok.tokenize({str(i): [{"caption": c}] for i, c in enumerate(captions)})
        gts = tok.tokenize({str(i): [{"caption": r} for r in rs] for i, rs in enumerate(refs)})
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"BLEU-{n}": b for n, b in enumerate(bleu, start=1)}
    out["CIDEr-D"] = Cider().compute_score(gts, res)[0]
    out["ROUGE-L"] = Rouge().compute_score(gts, res)[0]
    return out


def _write(path, captions, refs):
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "image": "none.png", "caption": c, "references": r}) + "\n"
            for i, (c, r) in enumerate(zip(captions, refs))
        ),
        encoding="utf-8",
    )
    return path


def test_blank_and_invisible_captions_are_rows_a_missing_caption_is_not(tmp_path):
    path = _write(tmp_path / "c.jsonl", CAPTIONS, REFS)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "x", "image": "none.png"}) + "\n")
    rows, errors = read_rows(path, needs_image=False)
    assert [r.caption for r in rows] == CAPTIONS
    assert len(errors) == 1 and "missing 'caption'" in str(errors[0]) and errors[0].line == 6
    assert [is_empty_caption(c) for c in CAPTIONS] == [False, True, True, True, False]


def test_empty_captions_are_scored_counted_and_the_coco_metrics_are_pycocoevalcaps(tmp_path):
    assert have_java(), "the reference numbers come from pycocoevalcap's Java tokenizer"
    path = _write(tmp_path / "c.jsonl", CAPTIONS, REFS)
    preset = tmp_path / "text.yaml"
    preset.write_text("name: text\ncomponents:\n  - reward: bad\n  - reward: repeat\n", encoding="utf-8")
    config = ScoreConfig(captions=path, out=tmp_path / "out.jsonl", preset=str(preset), device="cpu")
    result = score_file(config)
    assert not result.errors
    scored = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in scored] == [f"r{i}" for i in range(5)]
    summary = result.summary
    assert summary["n_scored"] == 5 and summary["empty_captions"] == 3
    assert any("3 empty captions" in n for n in summary["notes"])
    expected = _pycocoevalcap(CAPTIONS, REFS)
    for key, value in expected.items():
        assert summary["coco"][key] == pytest.approx(value, abs=1e-9), key
    # Leaving the empty rows out (what skipping them did) gives another, higher CIDEr-D.
    kept = [i for i, c in enumerate(CAPTIONS) if not is_empty_caption(c)]
    higher = _pycocoevalcap([CAPTIONS[i] for i in kept], [REFS[i] for i in kept])["CIDEr-D"]
    assert higher > summary["coco"]["CIDEr-D"] + 0.1

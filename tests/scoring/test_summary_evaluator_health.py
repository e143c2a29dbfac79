"""The summary's CLIP metrics with a broken evaluator: non-finite similarities refused, ties counted."""

import shutil
from pathlib import Path

import pytest
import torch

from rewardkit.errors import NonFiniteError
from rewardkit.functional import clip_recall
from rewardkit.presets import build_evaluator
from rewardkit.scoring.rows import read_rows
from rewardkit.scoring.summary import evaluator_metrics, tie_warning

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    src = ROOT / "examples" / "toy"
    dst = tmp_path_factory.mktemp("toy")
    lines = (src / "captions.jsonl").read_text().splitlines()[:10]
    (dst / "captions.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copytree(src / "images", dst / "images")
    rows, errors = read_rows(dst / "captions.jsonl")
    assert not errors
    return rows


def _evaluator(fill=None):
    ev = build_evaluator("toy", device="cpu")
    if fill is not None:  # the text tower collapses: every caption gets the same (or a NaN) embedding
        with torch.no_grad():
            ev.model.text_projection.fill_(fill)
    return ev


def test_a_working_evaluator_has_no_tied_rankings(rows):
    out = evaluator_metrics(_evaluator(), rows)
    assert out["clip_recall_ties"] == 0 and out["clip_recall"]["R@1"] > 0.5


def test_a_collapsed_evaluator_is_counted_and_warned_about(rows):
    out = evaluator_metrics(_evaluator(fill=0.0), rows)
    # IC3's convention reads constant similarities as perfect recall; the tie count gives it away.
    assert out["clip_recall"] == clip_recall(torch.zeros(10, 10))
    assert out["clip_recall"]["R@1"] == 1.0
    assert out["clip_recall_ties"] == 10
    assert "collapsed" in tie_warning(out["clip_recall_ties"], len(rows))


def test_nan_similarities_are_refused_naming_a_caption(rows):
    with pytest.raises(NonFiniteError, match=r"10 of 10 captions \(e\.g\. id 'toy-2026-00000'\)"):
        evaluator_metrics(_evaluator(fill=float("nan")), rows)

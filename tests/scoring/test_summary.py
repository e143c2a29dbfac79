"""The summary: computed from built objects only (no config, no preset) against references; its CLIP metrics
with a broken evaluator (non-finite similarities refused, ties counted)."""

import copy
import inspect
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch

from rewardkit.errors import NonFiniteError
from rewardkit.functional import clip_recall
from rewardkit.io.images import load_image
from rewardkit.presets import build_evaluator
from rewardkit.scoring.rows import read_rows
from rewardkit.scoring.summary import evaluator_metrics, summarise, tie_warning
from tests.scoring.conftest import toy_captions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    rows, errors = read_rows(toy_captions(tmp_path_factory.mktemp("toy"), 10))
    assert not errors
    return rows


def _evaluator(fill=None):
    ev = build_evaluator("toy", device="cpu")
    if fill is not None:  # the text tower collapses: every caption gets the same (or a NaN) embedding
        ev = copy.deepcopy(ev)  # not the process's shared (cached) evaluator
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


# --------------------------------------------------------------------------- summarise from built objects


def test_summarise_takes_no_config_and_loads_no_preset():
    params = inspect.signature(summarise).parameters
    assert list(params)[:3] == ["rows", "records", "evaluator"]
    assert "config" not in params and "result" not in params


def test_summarise_computes_from_what_it_is_given_against_references(rows):
    """Components: statistics' mean and stdev; CLIPScore and RefCLIPScore: the clipscore.py definitions
    (w = 2.5, "A photo depicts " prefix) on the evaluator's own embeddings; no preset is looked up."""
    evaluator = _evaluator()
    records = [
        {"id": r.id, "caption": r.caption, "a": float(i), "b": 2.0 * i - 3, "total": 0.0}
        for i, r in enumerate(rows)
    ]
    out = summarise(
        rows,
        records,
        evaluator,
        preset="not-a-registered-preset",  # a name only: a reload by name would fail
        captions="somewhere.jsonl",
        weights={"a": 1.0, "b": -0.5},
    )
    a = [rec["a"] for rec in records]
    b = [rec["b"] for rec in records]
    assert out["preset"] == "not-a-registered-preset" and out["captions"] == "somewhere.jsonl"
    assert out["n_scored"] == len(rows) == out["n_rows"]
    assert out["components"]["a"]["mean"] == pytest.approx(statistics.mean(a))
    assert out["components"]["a"]["std"] == pytest.approx(statistics.stdev(a))
    assert out["components"]["b"]["std"] == pytest.approx(statistics.stdev(b))
    whole = abs(statistics.mean(a)) + abs(-0.5 * statistics.mean(b))
    assert out["components"]["b"]["share"] == pytest.approx(abs(-0.5 * statistics.mean(b)) / whole)

    # the reference: clipscore.py's formulas on the evaluator's normalised embeddings
    images = [load_image(r.image).image for r in rows]
    img = evaluator.encode_images(images).double().numpy()
    cand = evaluator.encode_texts(["A photo depicts " + r.caption for r in rows]).double().numpy()
    cos = (img * cand).sum(1)
    clip_s = 2.5 * np.clip(cos, 0, None)
    assert out["CLIPScore"] == pytest.approx(clip_s.mean(), abs=1e-5)
    best = []
    for r, c in zip(rows, cand):
        refs = evaluator.encode_texts(["A photo depicts " + ref for ref in r.references]).double().numpy()
        best.append((refs @ c).max())
    best = np.array(best)
    script = 2 * clip_s * best / (clip_s + best)
    assert out["RefCLIPScore_clipscore_py"] == pytest.approx(script.mean(), abs=1e-5)
    paper = 2 * clip_s * np.clip(best, 0, None) / (clip_s + np.clip(best, 0, None))
    assert out["RefCLIPScore"] == pytest.approx(paper.mean(), abs=1e-5)


def test_summarise_without_an_evaluator_says_so_and_keeps_the_counts_it_is_given(rows):
    records = [{"id": r.id, "x": 1.0} for r in rows]
    out = summarise(rows, records, None, preset="p", n_errors=2, empty_captions=1, notes=["given"])
    assert out["n_rows"] == len(rows) + 2 and out["n_errors"] == 2 and out["empty_captions"] == 1
    assert out["notes"][0] == "given"
    assert any("preset 'p' has no evaluator" in n for n in out["notes"])
    assert "CLIPScore" not in out
    quiet = summarise(rows, records, None, preset="p", has_evaluator=True)
    assert not any("has no evaluator" in n for n in quiet["notes"])

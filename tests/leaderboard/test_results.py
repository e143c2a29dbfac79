"""Reading results for the leaderboard: a missing, empty or malformed results folder and side files."""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import cli


def _record(**kw):
    rec = {
        "model": "toy-sft",
        "benchmark": "toy",
        "n": 10,
        "metrics": {"clip_recall": {"R@1": 0.5, "R@5": 0.7, "R@10": 0.8, "MRR": 0.6}},
        "date": "2026-11-29T00:00:00+00:00",
    }
    rec.update(kw)
    return rec


@pytest.fixture()
def site(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.json").write_text(json.dumps(_record()))
    out = tmp_path / "site"
    assert cli("leaderboard", "build", "--results", results, "--out", out).code == 0
    return results, out


def test_a_misspelled_or_empty_results_folder_keeps_the_page(site, tmp_path):
    results, out = site
    before = (out / "index.html").read_text()
    run = cli("leaderboard", "build", "--results", tmp_path / "resluts", "--out", out)
    assert run.code == 2 and "no such folder" in run.error_line() and "--allow-empty" in run.error_line()
    empty = tmp_path / "empty"
    empty.mkdir()
    run = cli("leaderboard", "build", "--results", empty, "--out", out)
    assert run.code == 2 and "no result JSONs" in run.error_line()
    assert (out / "index.html").read_text() == before
    assert cli("leaderboard", "build", "--results", empty, "--out", out, "--allow-empty").code == 0
    assert "toy-sft" not in (out / "index.html").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".build-")]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not a readable JSON file"),
        (json.dumps(_record(date=20261129)), "field 'date' must be a string"),
        (json.dumps({k: v for k, v in _record().items() if k != "benchmark"}), "missing field 'benchmark'"),
        (json.dumps(_record(metrics=[1])), "field 'metrics' must be an object"),
        (json.dumps(_record(n="ten")), "field 'n' must be an integer"),
        (
            json.dumps(_record(metrics={"clip_recall": {"R@1": "high"}})),
            "field 'metrics.R@1' must be a number",
        ),
        (json.dumps([_record()]), "a result must be a JSON object"),
    ],
)
def test_a_malformed_result_names_file_and_field_and_keeps_the_page(site, content, says):
    results, out = site
    before = (out / "index.html").read_text()
    (results / "bad.json").write_text(content)
    run = cli("leaderboard", "build", "--results", results, "--out", out)
    assert run.code == 2
    line = run.error_line()
    assert str(results / "bad.json") in line and says in line
    assert (out / "index.html").read_text() == before


def test_bench_side_files_in_the_results_folder_are_not_results(site):
    results, out = site
    (results / "a.predictions.json").write_text(json.dumps([{"image_id": 1, "caption": "x"}]))
    (results / "a.scores.meta.json").write_text(json.dumps({"setup": {}, "rows": {}}))
    assert cli("leaderboard", "build", "--results", results, "--out", out).code == 0

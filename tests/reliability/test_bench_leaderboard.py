"""``rewardkit leaderboard build`` and ``bench --model captions:PATH`` against missing, malformed and hostile files."""

from __future__ import annotations

import csv
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


def test_csv_cells_cannot_run_formulas_and_readme_escapes_html(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.json").write_text(json.dumps(_record(model='=HYPERLINK("http://x")')))
    (results / "b.json").write_text(
        json.dumps(_record(model="<img src=x onerror=alert(1)>|x", source="@SUM(A1)"))
    )
    (results / "c.json").write_text(json.dumps(_record(model="-2+3", benchmark="+bench")))
    out = tmp_path / "site"
    assert cli("leaderboard", "build", "--results", results, "--out", out).code == 0
    with open(out / "results.csv", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert '\'=HYPERLINK("http://x")' in cells and "'@SUM(A1)" in cells and "'-2+3" in cells
    readme = (out / "README.md").read_text()
    assert "<img" not in readme and "&lt;img src=x onerror=alert(1)&gt;\\|x" in readme
    assert "<img src=x" not in (out / "index.html").read_text()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ('{"id": "a", "caption": "x"}\n{oops\n', ":2: malformed JSON"),
        ('{"id": "a"}\n', ":1 (id 'a'): missing 'caption'"),
    ],
)
def test_bench_captions_file_goes_through_the_row_reader(tmp_path, content, says):
    path = tmp_path / "given.jsonl"
    if content is not None:
        path.write_text(content)
    run = cli(
        "bench",
        "--model",
        f"captions:{path}",
        "--benchmark",
        "toy",
        "--limit",
        4,
        "--out",
        tmp_path / "res",
        "-q",
    )
    assert run.code == 2
    assert says in run.error_line()


def test_bench_side_files_in_the_results_folder_are_not_results(site):
    results, out = site
    (results / "a.predictions.json").write_text(json.dumps([{"image_id": 1, "caption": "x"}]))
    (results / "a.scores.meta.json").write_text(json.dumps({"setup": {}, "rows": {}}))
    assert cli("leaderboard", "build", "--results", results, "--out", out).code == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["bench", "--model", "toy-a2c", "--benchmark", "toy", "--limit", "-5", "-q"],
            "--limit must be at least 1",
        ),
        (["toy", "quality", "--n", "0"], "--n must be at least 2"),
        (["bench", "--model", "toy-a2c", "--benchmark", "tyo", "-q"], "did you mean 'toy'"),
        (["bench", "--model", "toy-a2d", "-q"], "did you mean 'toy-a2c'"),
    ],
)
def test_bad_options_are_one_line(tmp_path, args, says):
    run = cli(*args, "--out", tmp_path / "o") if args[0] == "bench" else cli(*args)
    assert run.code == 2 and says in run.error_line()


def test_a_missing_gpu_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from tests.reliability.conftest import write_rows

    path = write_rows(tmp_path / "c.jsonl", [{"id": "a", "caption": "a cat"}])
    run = cli("score", path, "--preset", "toy", "--rewards", "ref", "--device", "cuda", "-q")
    assert run.code == 2 and "no CUDA GPU is available" in run.error_line()

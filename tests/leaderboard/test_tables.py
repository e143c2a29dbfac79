"""Leaderboard tables: CSV cells cannot run formulas, the README escapes HTML."""

from __future__ import annotations

import csv
import json

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

"""The leaderboard page: tables, paper rows apart, plots; rendered in headless Chromium when installed."""

import csv
import json
import shutil
import subprocess

import pytest

from rewardkit.leaderboard.build import build


def _record(model, bench, r1, cider, styles=None):
    metrics = {
        "clip_recall": {"R@1": r1, "R@5": min(1, r1 + 0.2), "R@10": min(1, r1 + 0.3), "MRR": r1 + 0.05},
        "CIDEr-D": cider,
    }
    if styles:
        metrics["esp"] = {"styles": {s: {"CIDEr-D": v} for s, v in styles.items()}}
    return {
        "model": model,
        "benchmark": bench,
        "n": 100,
        "metrics": metrics,
        "date": "2026-11-22T00:00:00+00:00",
    }


@pytest.fixture()
def site(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    (res / "a.json").write_text(json.dumps(_record("toy-sft", "toy", 0.08, 0.4)))
    (res / "b.json").write_text(json.dumps(_record("toy-a2c", "toy", 0.61, 0.9)))
    (res / "c.json").write_text(json.dumps(_record("blip2", "esp", 0.3, 0.1, {"sns": 0.05, "news": 0.12})))
    (res / "notes.json").write_text(json.dumps({"unrelated": 1}))
    curve = tmp_path / "toy_a2c.json"
    curve.write_text(
        json.dumps({"curve": [{"minutes": 0, "probe_R@1": 0.1}, {"minutes": 5, "probe_R@1": 0.4}]})
    )
    build(res, tmp_path / "site", [curve])
    return tmp_path / "site"


def test_tables_csv_and_paper_rows(site):
    rows = list(csv.DictReader((site / "results.csv").open()))
    assert {r["model"] for r in rows} >= {"toy-sft", "toy-a2c", "blip2", "VLRM", "VLRM-RS", "BLIP2"}
    paper = [r for r in rows if r["source"].startswith("reported in paper")]
    assert len(paper) == 5 and all(r["benchmark"] == "coco-karpathy-test" for r in paper)
    vlrm = next(r for r in paper if r["model"] == "VLRM")
    assert float(vlrm["R@1"]) == 0.905 and float(vlrm["MRR"]) == 0.94
    readme = (site / "README.md").read_text()
    assert "## toy" in readme and readme.index("toy-a2c") < readme.index("toy-sft")  # best R@1 first
    toy, esp = readme.split("## toy")[1], readme.split("## esp")[1].split("## ")[0]
    assert "`no_repeat_ngram_size = 0`" in toy and "no_repeat" not in esp  # only where decoding differs
    page = (site / "index.html").read_text()
    captioner_tables = page.count('<table class="sortable"') - page.count('data-benchmark="reward-')
    assert captioner_tables == 3
    assert 'src="http' not in page and 'href="http' not in page  # works opened from disk, offline
    assert page.count('class="point"') >= 2 and 'class="bar"' in page and 'class="series"' in page


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Chromium is not installed (make test installs it with apt where it can)",
)
def test_page_renders_in_headless_chromium(site, tmp_path):
    shot = tmp_path / "shot.png"
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run(
        [*base, "--dump-dom", (site / "index.html").as_uri()], capture_output=True, text=True, timeout=120
    )
    assert "toy-a2c" in dom.stdout and "VLRM-RS" in dom.stdout
    assert dom.stdout.count("<circle") >= 2 and "<polyline" in dom.stdout
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,1600", (site / "index.html").as_uri()],
        capture_output=True,
        timeout=120,
    )
    import numpy as np
    from PIL import Image

    px = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert px.std() > 10  # not a blank page
    blue = ((px[..., 2] > 150) & (px[..., 0] < 80)).sum()
    assert blue > 30  # the scatter points are drawn


def test_plots_have_axis_ticks_values_and_labelled_points(site):
    from rewardkit.leaderboard.build import bars_svg, line_svg, nice_ticks, scatter_svg

    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 17.3) == [0.0, 5.0, 10.0, 15.0, 20.0]
    svg = scatter_svg([("toy-a2c", 0.9, 0.61), ("toy-sft", 0.4, 0.08)], "CIDEr-D", "R@1")
    assert svg.count('class="tick"') >= 8 and ">0.4<" in svg and ">1<" in svg
    assert "toy-a2c (0.9, 0.610)" in svg
    line = line_svg({"run": [(0, 0.1), (5, 0.4)]}, "minutes", "R@1")
    assert ">5<" in line and "run: 0.400 at 5.0" in line
    bars = bars_svg({"sns": 0.05, "news": 0.12}, "CIDEr-D")
    assert ">0.120<" in bars and 'class="tick"' in bars
    page = (site / "index.html").read_text()
    assert page.count('class="tick"') >= 8 and 'class="scale"' in page

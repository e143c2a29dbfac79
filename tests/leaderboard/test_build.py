"""The leaderboard page: tables, paper rows apart, plots; rendered in headless Chromium when installed."""

import csv
import html
import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from rewardkit.cli.main import app
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
    # toy-hard: four arms, two of them with several seeds, claim metrics, labels that used to collide
    for k, (model, r1s, cider, prec, rec) in enumerate(
        [
            ("toy-hard-sft", [0.121], 1.06, 0.92, 0.31),
            ("toy-hard-a2c-vlrm", [0.026, 0.031, 0.020], 0.94, 0.55, 0.30),
            ("toy-hard-a2c-rs", [0.097, 0.110, 0.090], 0.57, 0.50, 0.33),
            ("toy-hard-a2c-esper", [0.226], 0.85, 0.41, 0.52),
        ]
    ):
        for seed, r1 in enumerate(r1s):
            rec_ = _record(model, "toy-hard", r1, cider + 0.01 * seed)
            rec_["metrics"].update(
                {"claim_precision": prec + 0.01 * seed, "claim_recall": rec, "grammatical": 1.0}
            )
            rec_["config"] = {"seed": seed}
            (res / f"h{k}-{seed}.json").write_text(json.dumps(rec_))
    curve = tmp_path / "toy_a2c.json"
    curve.write_text(
        json.dumps({"curve": [{"minutes": 0, "probe_R@1": 0.1}, {"minutes": 5, "probe_R@1": 0.4}]})
    )
    seeds = tmp_path / "toy_hard.json"
    seeds.write_text(
        json.dumps(
            {
                "runs": {
                    "toy-hard-rs": {
                        "seeds": [
                            {
                                "curve": [
                                    {"minutes": m, "probe_R@1": 0.1 + 0.02 * m + 0.01 * k} for m in range(6)
                                ]
                            }
                            for k in range(3)
                        ]
                    }
                }
            }
        )
    )
    study = tmp_path / "toy_hard_study.json"
    study.write_text(json.dumps(_study()))
    build(res, tmp_path / "site", [curve, seeds, study])
    return tmp_path / "site"


def _study():
    """A seeded comparison as benchmarks/toy_hard_study.py writes it (two arms, three seeds)."""

    def stat(mean, lo, hi):
        return {"mean": mean, "lo": lo, "hi": hi}

    arms = {
        "sft": {"label": "SFT (start)", "seeds": [0], "judge_R@1": stat(0.12, 0.10, 0.14)},
        "esper": {"label": "ESPER", "seeds": [0, 1, 2], "judge_R@1": stat(0.31, 0.25, 0.37)},
    }
    arms["sft"].update(
        claim_precision=stat(0.58, 0.55, 0.61), per_seed={"judge_R@1": [0.12], "claim_precision": [0.58]}
    )
    arms["esper"].update(
        claim_precision=stat(0.22, 0.20, 0.24),
        per_seed={"judge_R@1": [0.25, 0.31, 0.37], "claim_precision": [0.2, 0.22, 0.24]},
    )
    diff = {
        "judge_R@1": {"mean": 0.19, "lo": 0.12, "hi": 0.26, "outside": True},
        "claim_precision": {"mean": -0.36, "lo": -0.40, "hi": 0.01, "outside": False},
    }
    curve = [
        [{"step": s, "minutes": s / 10, "probe_R@1": 0.2 + 0.001 * s + 0.02 * k} for s in (0, 50, 100)]
        for k in range(3)
    ]
    return {
        "study": {"arms": arms, "differences": {"esper - sft": diff}, "steps": 100, "eval": {}},
        "runs": {
            "toy-hard-esper": {"label": "ESPER", "seeds": {str(k): {"curve": c} for k, c in enumerate(curve)}}
        },
    }


def test_seeded_study_table_differences_and_plots(site):
    readme = (site / "README.md").read_text()
    assert "| ESPER | 3 | 0.310 [0.250, 0.370] | 0.220 [0.200, 0.240] |" in readme
    assert "- ESPER − SFT (start): judge R@1 +0.190 [+0.120, +0.260]" in readme
    assert "claim precision -0.360" not in readme  # its interval holds 0: not listed
    page = (site / "index.html").read_text()
    assert 'id="toy-hard-study"' in page
    assert "judge R@1 vs claim precision" in page and "over training (mean of the seeds" in page


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
    assert captioner_tables == 4
    assert 'src="http' not in page and 'href="http' not in page  # works opened from disk, offline
    assert page.count('<svg class="plot"') >= 6  # scatters per table, ESP bars, curves


_OVERLAPS_JS = """
var found = [], texts = [];
document.querySelectorAll('svg.plot').forEach(function (svg, i) {
  var frame = svg.getBoundingClientRect();
  svg.querySelectorAll('text').forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (!t.textContent.trim() || r.width === 0) return;
    texts.push({svg: i, text: t.textContent.trim(), l: r.left, t: r.top, r: r.right, b: r.bottom});
    if (r.left < frame.left - 1 || r.right > frame.right + 1 || r.top < frame.top - 1 || r.bottom > frame.bottom + 1)
      found.push('cut at the edge: ' + t.textContent.trim());
  });
});
for (var i = 0; i < texts.length; i++) for (var j = i + 1; j < texts.length; j++) {
  var a = texts[i], b = texts[j];
  if (a.svg === b.svg && a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5)
    found.push(a.text + ' overlaps ' + b.text);
}
var out = document.createElement('pre');
out.id = 'overlaps';
out.textContent = JSON.stringify({texts: texts.length, plots: document.querySelectorAll('svg.plot').length, found: found});
document.body.appendChild(out);
"""


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Chromium is not installed (make test installs it with apt where it can)",
)
def test_page_renders_in_headless_chromium_with_no_label_on_another(site, tmp_path):
    shot = tmp_path / "shot.png"
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    checked = tmp_path / "checked.html"
    page = (site / "index.html").read_text()
    checked.write_text(page.replace("</body>", f"<script>{_OVERLAPS_JS}</script></body>"))
    dom = subprocess.run(
        [*base, "--window-size=1400,4000", "--dump-dom", checked.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "toy-a2c" in dom.stdout and "VLRM-RS" in dom.stdout
    report = json.loads(html.unescape(dom.stdout.split('<pre id="overlaps">')[1].split("</pre>")[0]))
    assert report["plots"] >= 6 and report["texts"] > 60  # ticks, axis labels and legends are all text
    assert report["found"] == []  # no label overlaps another or is cut at a plot's edge
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


def _write(res, name, rec):
    res.mkdir(exist_ok=True)
    (res / name).write_text(json.dumps(rec))


def test_non_finite_metrics_are_a_dash_left_out_of_plots_and_named(tmp_path):
    res = tmp_path / "results"
    bad = _record("toy-broken", "toy", float("nan"), float("inf"))
    bad["metrics"]["claim_precision"] = float("-inf")
    _write(res, "bad.json", bad)
    _write(res, "ok.json", _record("toy-a2c", "toy", 0.61, 0.9))
    notes = []
    build(res, tmp_path / "site", log=notes.append)
    assert any("bad.json" in n and "metrics.clip_recall.R@1" in n for n in notes)
    assert any("metrics.CIDEr-D" in n and "inf" in n for n in notes)
    assert any("metrics.claim_precision" in n for n in notes)
    page = (tmp_path / "site" / "index.html").read_text()
    shown = page.split("<script>")[0].lower()  # the sort script calls isNaN
    assert "nan" not in shown and "inf<" not in shown and 'cy="nan"' not in shown
    row = next(
        x for x in csv.DictReader((tmp_path / "site" / "results.csv").open()) if x["model"] == "toy-broken"
    )
    assert row["R@1"] == "" and row["CIDEr-D"] == "" and row["R@5"] != ""
    readme = (tmp_path / "site" / "README.md").read_text()
    line = next(x for x in readme.splitlines() if "toy-broken" in x)
    assert "| – |" in line and "nan" not in line
    r = CliRunner().invoke(
        app, ["leaderboard", "build", "--results", str(res), "--out", str(tmp_path / "s2")]
    )
    assert r.exit_code == 0 and "metrics.clip_recall.R@1" in r.output


def test_rows_on_different_pool_sizes_get_separate_tables(tmp_path):
    res = tmp_path / "results"
    small, large = _record("toy-a2c", "toy", 0.96, 4.4), _record("toy-a2c", "toy", 0.933, 4.4)
    small["n"], large["n"] = 200, 1000
    _write(res, "small.json", small)
    _write(res, "large.json", large)
    _write(res, "sft.json", _record("toy-sft", "toy", 0.3, 2.3) | {"n": 1000})
    build(res, tmp_path / "site")
    readme = (tmp_path / "site" / "README.md").read_text()
    assert "Measured on 2 pool sizes" in readme
    first, second = readme.index("### toy, n = 1,000 images"), readme.index("### toy, n = 200 images")
    assert first < readme.index("0.933") < readme.index("0.300") < second < readme.index("0.960")
    page = (tmp_path / "site" / "index.html").read_text()
    assert 'data-n="200"' in page and 'data-n="1000"' in page and "Measured on 2 pool sizes" in page


@pytest.mark.parametrize(
    "study, message",
    [
        (3, "must hold 'arms' and 'differences' objects"),
        ({"arms": {"x": 5}, "differences": {}}, "study.arms.x must be an object with 'label' and 'seeds'"),
        (
            {"arms": {"x": {"label": "X", "seeds": [0], "judge_R@1": 0.1}}, "differences": {}},
            "study.arms.x.judge_R@1",
        ),
        ({"arms": {}, "differences": 7}, "must hold 'arms' and 'differences' objects"),
        ({"arms": {}, "differences": {"ab": {}}}, "must be 'B - A'"),
    ],
)
def test_a_malformed_study_is_one_line_naming_the_field(tmp_path, study, message):
    from rewardkit.leaderboard.results import ResultError

    res = tmp_path / "results"
    res.mkdir()
    (res / "a.json").write_text(json.dumps(_record("toy-sft", "toy", 0.08, 0.4)))
    bad = tmp_path / "study.json"
    bad.write_text(json.dumps({"study": study}))
    with pytest.raises(ResultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(res, tmp_path / "site", [bad])
    assert not (tmp_path / "site" / "index.html").exists()

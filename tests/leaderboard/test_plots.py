"""Leaderboard plots: matplotlib SVG with text ticks, legends and seed bands."""

import json

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
    build(res, tmp_path / "site", [curve, seeds])
    return tmp_path / "site"


def test_plots_are_matplotlib_svg_with_text_ticks_legends_and_seed_bands(site):
    from rewardkit.leaderboard.plots import bars_svg, line_svg, scatter_svg

    svg = scatter_svg([("toy-a2c", [0.9], [0.61]), ("toy-sft", [0.4, 0.5], [0.08, 0.1])], "CIDEr-D", "R@1")
    assert svg.startswith('<svg class="plot"') and "Matplotlib" in svg
    assert ">toy-a2c (R@1 0.610)</text>" in svg and ">toy-sft (R@1 0.090), 2 runs</text>" in svg
    assert ">0.4</text>" in svg and ">CIDEr-D</text>" in svg  # ticks and axis labels are text
    assert "lowest to highest run" in svg
    line = line_svg(
        {"run": [[(0, 0.1), (5, 0.4)]], "seeds": [[(0, 0.2), (4, 0.5)], [(0, 0.3), (5, 0.6)]]},
        "minutes",
        "R@1",
    )
    assert (
        ">run</text>" in line
        and ">seeds (mean of 2 seeds)</text>" in line
        and "band: lowest to highest seed" in line
    )
    assert "FillBetween" in line or "PolyCollection" in line  # the band
    bars = bars_svg({"sns": 0.05, "news": 0.12}, "CIDEr-D")
    assert ">0.120</text>" in bars and ">news</text>" in bars
    page = (site / "index.html").read_text()
    assert page.count('<svg class="plot"') >= 6 and 'class="scale"' in page
    assert "mean of 3 seeds" in page and "3 runs" in page  # bands and bars where results have several seeds
    assert "claim precision vs claim recall" in page

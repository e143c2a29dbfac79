"""The seeded reward-design comparison of a toy_hard result file (``benchmarks/toy_hard_study.py``) on the leaderboard.

A result file with a ``study`` holds, per arm, the mean over seeds and the 95 % bootstrap interval of
each measure, each seed's own value, and each run's probe curve. The leaderboard shows the table
(mean [interval]), the differences whose interval excludes 0, a judge R@1 vs claim precision plot
(mean of the seeds with bars from the lowest to the highest seed) and the probe curves over A2C
steps (mean of the seeds with a lowest-highest band).
"""

from __future__ import annotations

import html
from typing import Any

MEASURES = (
    ("judge_R@1", "judge R@1"),
    ("claim_precision", "claim precision"),
    ("claim_recall", "claim recall"),
    ("grammatical", "grammatical"),
    ("ref_logprob", "ref log-prob"),
    ("words", "words"),
    ("evaluator_R@1", "evaluator R@1"),
    ("itc_R@1", "ITC R@1"),
)
"""Columns of the comparison: measure key in the study -> column title."""


def _cell(stat: dict[str, float]) -> str:
    return f"{stat['mean']:.3f} [{stat['lo']:.3f}, {stat['hi']:.3f}]"


def study_rows(study: dict[str, Any]) -> list[dict[str, str]]:
    """One row per arm: its label, seeds and ``mean [lo, hi]`` per measure."""
    rows = []
    for arm in study["arms"].values():
        row = {"arm": arm["label"], "seeds": str(len(arm["seeds"]))}
        row.update({title: _cell(arm[key]) for key, title in MEASURES if key in arm})
        rows.append(row)
    return rows


def _table(study: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    """The comparison's columns (the measures present) and rows."""
    rows = study_rows(study)
    return ["arm", "seeds", *[t for _, t in MEASURES if any(t in r for r in rows)]], rows


def outside(study: dict[str, Any]) -> list[str]:
    """The differences whose 95 % interval excludes 0, one line per pair of arms."""
    labels = {a: s["label"] for a, s in study["arms"].items()}
    lines = []
    for pair, diff in study["differences"].items():
        b, a = pair.split(" - ")
        found = [
            f"{title} {diff[key]['mean']:+.3f} [{diff[key]['lo']:+.3f}, {diff[key]['hi']:+.3f}]"
            for key, title in MEASURES
            if key in diff and diff[key]["outside"]
        ]
        lines.append(f"{labels.get(b, b)} − {labels.get(a, a)}: " + ("; ".join(found) or "none"))
    return lines


def _caption(study: dict[str, Any]) -> str:
    ev = study.get("eval", {})
    return (
        f"{study.get('steps', '?')} A2C steps per run from toy-hard-sft; measured on {ev.get('scenes', '?')} "
        f"with {ev.get('decoding', 'beam')} decoding. Judge: {ev.get('judge', 'toy-hard-judge')}. "
        f"Intervals: {ev.get('interval', '95 %')}."
    )


def study_markdown(study: dict[str, Any], md_cell: Any) -> list[str]:
    """The comparison as Markdown lines (the leaderboard README's)."""
    cols, rows = _table(study)
    out = ["## toy-hard reward-design comparison (seeds)", "", md_cell(_caption(study)), ""]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + " --- |" * len(cols))
    out += ["| " + " | ".join(md_cell(r.get(c, "–")) for c in cols) + " |" for r in rows]
    out += ["", "Differences whose 95 % interval excludes 0:", ""]
    out += [f"- {md_cell(line)}" for line in outside(study)]
    return out


def study_html(record: dict[str, Any]) -> list[str]:
    """The comparison as HTML: its table, the differences, and two plots."""
    from rewardkit.leaderboard.plots import line_svg, scatter_svg

    study = record["study"]
    cols, rows = _table(study)
    body = [
        '<h2 id="toy-hard-study">toy-hard reward-design comparison (seeds)</h2>',
        f"<p>{html.escape(_caption(study))}</p>",
        '<table class="study"><tr>' + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>",
    ]
    body += ["<tr>" + "".join(f"<td>{html.escape(r.get(c, '–'))}</td>" for c in cols) + "</tr>" for r in rows]
    body.append("</table><p>Differences whose 95 % interval excludes 0:</p><ul>")
    body += [f"<li>{html.escape(line)}</li>" for line in outside(study)]
    body.append("</ul>")
    points = [
        (arm["label"], arm["per_seed"]["judge_R@1"], arm["per_seed"]["claim_precision"])
        for arm in study["arms"].values()
        if "per_seed" in arm
    ]
    scatter = scatter_svg(points, "judge R@1", "claim precision")
    if scatter:
        body.append(
            "<figure><figcaption>toy-hard arms: judge R@1 vs claim precision (mean of the seeds, bars: lowest "
            f"to highest seed)</figcaption>{scatter}</figure>"
        )
    curves = {
        run.get("label", name): [
            [(float(p["step"]), float(p["probe_R@1"])) for p in seed_run.get("curve", [])]
            for seed_run in run.get("seeds", {}).values()
        ]
        for name, run in record.get("runs", {}).items()
    }
    line = line_svg({k: v for k, v in curves.items() if any(v)}, "A2C steps", "probe R@1 (evaluator)")
    if line:
        body.append(
            "<figure><figcaption>toy-hard arms: probe R@1 by toy-hard-clip over training (mean of the seeds, "
            f"band: lowest to highest seed)</figcaption>{line}</figure>"
        )
    return body

"""The leaderboard's reward-model tables: measured ``kind: "reward"`` results beside published numbers."""

from __future__ import annotations

import html
import math
from typing import Any

REWARD_COLUMNS = [
    "reward",
    "benchmark",
    "source",
    "n",
    "tau_c",
    "tau_b",
    "accuracy",
    "hackability",
    "detail",
    "truncated",
    "date",
]

_CLIPSCORE = "reported: CLIPScore paper (Hessel et al., EMNLP 2021), Table 1"
_PACS = "reported: PAC-S repository README (aimagelab/pacscore), compute_correlations.py output"
REPORTED_REWARD_ROWS: list[dict[str, Any]] = [
    {"reward": "CLIP-S (ViT-B/32)", "benchmark": "flickr8k-expert", "tau_c": 51.2, "source": _CLIPSCORE},
    {"reward": "CLIP-S (ViT-B/32)", "benchmark": "flickr8k-cf", "tau_b": 34.4, "source": _CLIPSCORE},
    {"reward": "RefCLIP-S (ViT-B/32)", "benchmark": "flickr8k-expert", "tau_c": 53.0, "source": _CLIPSCORE},
    {"reward": "RefCLIP-S (ViT-B/32)", "benchmark": "flickr8k-cf", "tau_b": 36.4, "source": _CLIPSCORE},
    {
        "reward": "PAC-S (ViT-B/32)",
        "benchmark": "flickr8k-expert",
        "tau_c": 54.292,
        "tau_b": 53.919,
        "source": _PACS,
    },
    {
        "reward": "PAC-S (ViT-B/32)",
        "benchmark": "flickr8k-cf",
        "tau_b": 36.037,
        "tau_c": 18.628,
        "source": _PACS,
    },
]
"""Published numbers, each checked against the source named in its row (data_cards/reward-benchmarks.md)."""


def capevalkit_reported_rows() -> list[dict[str, Any]]:
    """Reported Kendall taus of caption metrics, as CaptionEvalKit's ``benchmarks/expected`` files give them.

    Transcribed into ``rewardkit/data/reported_rewards_capevalkit.json`` (repository and commit named there);
    each row keeps the paper or README its file names as the source.
    """
    import json
    from importlib import resources

    data = json.loads(
        resources.files("rewardkit.data").joinpath("reported_rewards_capevalkit.json").read_text()
    )
    short = data["commit"][:7]
    return [
        {
            "reward": r["reward"],
            "benchmark": r["benchmark"],
            "tau_b": r.get("tau_b"),
            "tau_c": r.get("tau_c"),
            "source": f"reported: {r['source']} (via CaptionEvalKit@{short} {r['file']})",
        }
        for r in data["rows"]
    ]


REWARD_SCALE_NOTE = (
    "Kendall tau and accuracies x100, as the papers report them; hackability = the largest mean reward gain "
    "from a content-free addition, divided by the reward's terse-to-full spread (0 = nothing gained)."
)


def _detail(metrics: dict[str, Any]) -> str:
    per = metrics.get("per_category")
    if isinstance(per, dict):
        return ", ".join(f"{k} {v:.1f}" for k, v in per.items() if isinstance(v, (int, float)))
    parts = [
        f"{k} {metrics[k]:.1f}"
        for k in ("HC", "HI", "HM", "MM", "1-ref", "4-ref")
        if isinstance(metrics.get(k), (int, float))
    ]
    if metrics.get("max_gain_phrase") is not None:
        parts.append(
            f"top addition: {metrics['max_gain_phrase']} ({metrics.get('max_gain', float('nan')):+.3f})"
        )
    return ", ".join(parts)


def _truncated(rec: dict[str, Any]) -> str:
    """``clipscore 3/40 (1.2% tok)``: candidates truncated and share of candidate tokens dropped, per component."""
    t = rec.get("truncation")
    if not isinstance(t, dict):
        return ""
    return ", ".join(
        f"{name} {v['candidates_truncated']}/{v['candidates']} ({100 * v['candidate_tokens_dropped']:.1f}% tok)"
        for name, v in t.items()
        if isinstance(v, dict) and v.get("candidates")
    )


def reward_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One table row from a ``kind: "reward"`` result."""
    m = rec["metrics"]
    accuracy = m.get("accuracy")
    if accuracy is None:
        accuracy = m.get("mean", m.get("4-ref"))
    return {
        "reward": rec["model"],
        "benchmark": rec["benchmark"],
        "source": rec.get("source", "measured by rewardkit"),
        "n": rec.get("n"),
        "tau_c": m.get("tau_c"),
        "tau_b": m.get("tau_b"),
        "accuracy": accuracy,
        "hackability": m.get("hackability"),
        "detail": _detail(m),
        "truncated": _truncated(rec),
        "date": str(rec.get("date") or "")[:10],
    }


def _expand(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """A LongCap-Arena result as one row per judged aspect (``longcap-arena/testa-desc`` ...), else itself."""
    aspects = rec.get("metrics", {}).get("aspects")
    if not isinstance(aspects, dict):
        return [rec]
    return [dict(rec, benchmark=f"{rec['benchmark']}/{a}", metrics=dict(m)) for a, m in aspects.items()]


def reward_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Measured reward rows (LongCap-Arena per aspect), then the reported ones."""
    measured = [reward_row(x) for r in records for x in _expand(r)]
    reported = [dict(r, n=None, date="") for r in REPORTED_REWARD_ROWS + capevalkit_reported_rows()]
    return measured + reported


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    spec = _spec(row["benchmark"])
    head = (
        {"accuracy": "accuracy", "mean": "accuracy", "4-ref": "accuracy"}.get(spec.headline, spec.headline)
        if spec
        else "accuracy"
    )
    v = row.get(head)
    v = v if isinstance(v, (int, float)) and not math.isnan(v) else None
    sign = 1 if head == "hackability" else -1  # less hackable is better
    return (v is None, sign * (v or 0))


def _spec(benchmark: str) -> Any:
    """The registered reward benchmark a row's ``benchmark`` (``NAME`` or ``NAME/part``) names, or ``None``."""
    from rewardkit.registry import BENCHMARKS, benchmarks_of

    name = benchmark.split("/")[0]
    return BENCHMARKS.get(name) if name in benchmarks_of("reward") else None


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _benchmarks(rows: list[dict[str, Any]]) -> list[str]:
    measured = {r["benchmark"] for r in rows if r["source"] == "measured by rewardkit"}
    return sorted({r["benchmark"] for r in rows}, key=lambda b: (b not in measured, b))


def reward_markdown(rows: list[dict[str, Any]], cell: Any) -> list[str]:
    """README lines: one table per reward benchmark, best first."""
    out = ["# Reward models", "", REWARD_SCALE_NOTE, ""]
    for bench in _benchmarks(rows):
        sub = sorted((r for r in rows if r["benchmark"] == bench), key=_key)
        cols = [
            c for c in REWARD_COLUMNS if c != "benchmark" and any(r.get(c) not in (None, "") for r in sub)
        ]
        spec = _spec(bench)
        out += [f"## {cell(bench)}", ""]
        if spec:
            out += [cell(spec.description), ""]
        out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        out += ["| " + " | ".join(cell(_fmt(r.get(c))) for c in cols) + " |" for r in sub]
        out.append("")
    return out


def reward_html(rows: list[dict[str, Any]]) -> list[str]:
    """HTML blocks: one sortable table per reward benchmark."""
    from rewardkit.leaderboard.page import sortable_table

    body = [
        '<h1 id="reward-models">Reward models</h1>',
        f'<p class="scale">{html.escape(REWARD_SCALE_NOTE)}</p>',
    ]
    for bench in _benchmarks(rows):
        sub = sorted((r for r in rows if r["benchmark"] == bench), key=_key)
        cols = [
            c for c in REWARD_COLUMNS if c != "benchmark" and any(r.get(c) not in (None, "") for r in sub)
        ]
        body.append(f'<h2 id="reward-{html.escape(bench)}">{html.escape(bench)}</h2>')
        body += sortable_table(f'data-benchmark="reward-{html.escape(bench)}"', cols, sub, _fmt)
    return body

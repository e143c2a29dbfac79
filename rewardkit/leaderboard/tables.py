"""The leaderboard's tables: one row per result, grouped per benchmark and pool size, as CSV cells and Markdown."""

from __future__ import annotations

import html
import math
from typing import Any

from rewardkit.leaderboard.results import CAPTION_METRICS, CLAIM_KEYS

PAPER_ROWS = [
    # VLRM Table 3: CLIP Recall on MS-COCO Karpathy test (OpenCLIP ViT-g-14 laion2b_s12b_b42k).
    ("REF (human captions)", 0.583, 0.471, 0.712, 0.801),
    ("BLIP2", 0.625, 0.517, 0.748, 0.832),
    ("BLIP2 + IC3", 0.746, 0.652, 0.863, 0.921),
    ("VLRM", 0.940, 0.905, 0.984, 0.994),
    ("VLRM-RS", 0.958, 0.932, 0.991, 0.997),
]
"""Rows reported in the VLRM paper (Table 3), shown apart from rows measured by rewardkit."""


COLUMNS = [
    "model",
    "benchmark",
    "source",
    "n",
    "R@1",
    "R@5",
    "R@10",
    "MRR",
    "CLIPScore",
    "CIDEr-D",
    "BLEU-4",
    "METEOR",
    "ROUGE-L",
    "claim precision",
    "claim recall",
    "grammatical",
    "date",
]


SCALE_NOTE = (
    "Scores are raw, as lmms-eval reports them: R@k, MRR, BLEU, METEOR, ROUGE-L in [0, 1], CIDEr-D up to 10, "
    "CLIPScore on its 0-2.5 scale (VLMEvalKit multiplies by 100)."
)


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (text starting with = + - @ tab or CR is quoted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def md_cell(value: str) -> str:
    """Text safe inside a Markdown table cell: HTML escaped, pipes and newlines neutralised."""
    return html.escape(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def flatten(rec: dict[str, Any]) -> dict[str, Any]:
    """One table row from a result record."""
    m = rec["metrics"]
    row = {
        "model": rec["model"],
        "benchmark": rec["benchmark"],
        "source": rec.get("source", "measured by rewardkit"),
        "n": rec.get("n"),
    }
    row.update({k: m.get("clip_recall", {}).get(k) for k in ("R@1", "R@5", "R@10", "MRR")})
    for k in CAPTION_METRICS:
        row[k] = m.get(k)
    for column, key in CLAIM_KEYS.items():
        row[column] = m.get(key)
    row["date"] = str(rec.get("date") or "")[:10]
    return row


def table_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Measured rows, then the paper's rows for COCO Karpathy test."""
    rows = [flatten(r) for r in records]
    for name, mrr, r1, r5, r10 in PAPER_ROWS:
        rows.append(
            {
                "model": name,
                "benchmark": "coco-karpathy-test",
                "source": "reported in paper (VLRM Table 3)",
                "n": 5000,
                "R@1": r1,
                "R@5": r5,
                "R@10": r10,
                "MRR": mrr,
                "date": "2024",
            }
        )
    return rows


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _decoding_note(bench: str) -> str:
    """How a measured row's captions were decoded, when the benchmark departs from VLRM Table 2."""
    from rewardkit.bench.benchmarks import BENCHMARKS

    spec = BENCHMARKS.get(bench)
    if spec is None or not spec.generation:
        return ""
    changes = ", ".join(f"`{k} = {v}`" for k, v in spec.generation.items())
    return (
        f"Measured rows decode with VLRM Table 2 settings except {changes} (see the benchmark's data card)."
    )


POOL_NOTE = (
    "R@k and MRR rank each caption among the n images of its row's set, so they fall as n grows: "
    "compare rows within one n."
)


CLAIM_NOTE = (
    "Claim precision: share of the claims the captions state that hold in the scene; claim recall: share "
    "of the facts of the scenes' full descriptions the captions state; grammatical: share of captions in "
    "the toy grammar (exact, from the generator's ground truth)."
)


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, Any, list[dict[str, Any]]]]:
    """``(benchmark, n, rows)``: a benchmark's rows split by pool size n (largest first), measured rows
    first, best R@1 first."""
    out = []
    for bench in sorted({r["benchmark"] for r in rows}):
        sub = [r for r in rows if r["benchmark"] == bench]
        sizes = sorted({r.get("n") for r in sub}, key=lambda n: (n is None, -(n or 0)))
        for n in sizes:
            part = sorted(
                (r for r in sub if r.get("n") == n),
                key=lambda r: (r["source"] != "measured by rewardkit", -(r["R@1"] or 0)),
            )
            out.append((bench, n, part))
    return out


def _pool(n: Any) -> str:
    return f"n = {n:,} images" if isinstance(n, int) else "n not recorded"


def _columns(sub: list[dict[str, Any]]) -> list[str]:
    return [c for c in COLUMNS if c != "benchmark" and any(r.get(c) is not None for r in sub)]


def markdown(rows: list[dict[str, Any]]) -> str:
    """README.md: per benchmark, one table per pool size n, measured rows first, best R@1 first."""
    out = [
        "# Leaderboard",
        "",
        "Built by `rewardkit leaderboard build`; open `index.html` for sortable tables and plots.",
        "",
    ]
    parts = groups(rows)
    for bench in sorted({b for b, _, _ in parts}):
        mine = [(n, sub) for b, n, sub in parts if b == bench]
        out += [f"## {md_cell(bench)}", ""]
        note = _decoding_note(bench)
        if note:
            out += [note, ""]
        out += [SCALE_NOTE, ""]
        if any(r.get("claim precision") is not None for _, sub in mine for r in sub):
            out += [CLAIM_NOTE, ""]
        if len(mine) > 1:
            out += [f"**Measured on {len(mine)} pool sizes.** {POOL_NOTE}", ""]
        for n, sub in mine:
            cols = _columns(sub)
            if len(mine) > 1:
                out += [f"### {md_cell(bench)}, {_pool(n)}", ""]
            out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            out += ["| " + " | ".join(md_cell(_fmt(r.get(c))) for c in cols) + " |" for r in sub]
            out.append("")
    return "\n".join(out)

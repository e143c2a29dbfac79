"""The leaderboard: result JSONs -> results.csv, rewards.csv, README.md (a table per benchmark) and a static index.html."""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

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
    "date",
]


class ResultError(RewardkitError):
    """A result JSON that cannot be shown: named by file and field."""


def check_result(path: Path, rec: Any) -> dict[str, Any]:
    """A result record checked field by field (model, benchmark, metrics, n, date, source)."""
    if not isinstance(rec, dict):
        raise ResultError(f"{path}: a result must be a JSON object, not {type(rec).__name__}")
    for key in ("model", "benchmark"):
        if key not in rec:
            raise ResultError(f"{path}: missing field {key!r}")
        if not isinstance(rec[key], str) or not rec[key]:
            raise ResultError(f"{path}: field {key!r} must be a non-empty string, not {rec[key]!r}")
    if not isinstance(rec.get("metrics"), dict):
        raise ResultError(f"{path}: field 'metrics' must be an object")
    recall = rec["metrics"].get("clip_recall", {})
    if not isinstance(recall, dict):
        raise ResultError(f"{path}: field 'metrics.clip_recall' must be an object")
    for key, value in [*recall.items(), *((k, rec["metrics"].get(k)) for k in COLUMNS[8:13])]:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ResultError(f"{path}: field 'metrics.{key}' must be a number, not {value!r}")
    if "n" in rec and rec["n"] is not None and (isinstance(rec["n"], bool) or not isinstance(rec["n"], int)):
        raise ResultError(f"{path}: field 'n' must be an integer, not {rec['n']!r}")
    for key in ("date", "source"):
        if key in rec and not isinstance(rec[key], str):
            raise ResultError(f"{path}: field {key!r} must be a string, not {rec[key]!r}")
    return rec


def load_results(results: Path, *, allow_empty: bool = False, log: Any = None) -> list[dict[str, Any]]:
    """Every result JSON under ``results`` (``rewardkit bench`` output), each checked; a missing or empty folder is an error."""
    if not results.is_dir():
        raise ResultError(
            f"--results {results}: no such folder (pass --allow-empty to build with the paper rows only)"
        )
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in sorted(results.glob("*.json")):
        if path.name.endswith((".predictions.json", ".meta.json", ".summary.json")):
            continue  # bench's side files: COCO-format predictions, scoring meta and summary
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ResultError(
                f"{path}: not a readable JSON file ({' '.join(str(exc).split())[:120]})"
            ) from None
        if isinstance(rec, dict) and not {"model", "benchmark", "metrics"} & set(rec):
            skipped.append(
                path.name
            )  # not a result at all (e.g. a training-curve file, read through --curve)
            continue
        rows.append(check_result(path, rec))
    if skipped and log is not None:
        log(f"not results (no model, benchmark or metrics field), left out: {', '.join(skipped)}")
    if not rows and not allow_empty:
        raise ResultError(
            f"--results {results}: no result JSONs (pass --allow-empty to build with the paper rows only)"
        )
    return rows


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
    for k in ("CLIPScore", "CIDEr-D", "BLEU-4", "METEOR", "ROUGE-L"):
        row[k] = m.get(k)
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


def markdown(rows: list[dict[str, Any]]) -> str:
    """README.md: one table per benchmark, measured rows first, best R@1 first."""
    out = [
        "# Leaderboard",
        "",
        "Built by `rewardkit leaderboard build`; open `index.html` for sortable tables and plots.",
        "",
    ]
    for bench in sorted({r["benchmark"] for r in rows}):
        sub = sorted(
            (r for r in rows if r["benchmark"] == bench),
            key=lambda r: (r["source"] != "measured by rewardkit", -(r["R@1"] or 0)),
        )
        cols = [c for c in COLUMNS if c != "benchmark" and any(r.get(c) is not None for r in sub)]
        out += [f"## {md_cell(bench)}", ""]
        note = _decoding_note(bench)
        if note:
            out += [note, ""]
        out += [SCALE_NOTE, ""]
        out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        out += ["| " + " | ".join(md_cell(_fmt(r.get(c))) for c in cols) + " |" for r in sub]
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------ plots as inline SVG (no network, no JS libraries)


def _frame(width: int, height: int, pad: int, xlabel: str, ylabel: str) -> list[str]:
    """An SVG's opening tag, white background, axes and axis labels."""
    return [
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
        f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle" font-size="12">{html.escape(xlabel)}</text>',
        f'<text x="14" y="{height / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 {height / 2})">{html.escape(ylabel)}</text>',
    ]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten).

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    import math as _m

    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, n)
    mag = 10 ** _m.floor(_m.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = _m.floor(lo / step) * step
    ticks, t = [], first
    while True:  # up to the first tick at or above hi, so the axis covers every value
        ticks.append(round(t, 10))
        if t >= hi - step * 1e-9:
            return ticks
        t += step


def _tick_label(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-9 else "0"


def _axis_ticks(
    parts: list[str], xs: list[float], ys: list[float], sx: Any, sy: Any, pad: int, width: int, height: int
) -> None:
    """Tick marks, values and light grid lines on both axes."""
    for x in xs:
        px = sx(x)
        if pad - 0.5 <= px <= width - pad + 0.5:
            parts.append(
                f'<line x1="{px:.1f}" y1="{height - pad}" x2="{px:.1f}" y2="{height - pad + 4}" stroke="#333"/>'
            )
            parts.append(
                f'<text class="tick" x="{px:.1f}" y="{height - pad + 16}" text-anchor="middle" font-size="10">{_tick_label(x)}</text>'
            )
    for y in ys:
        py = sy(y)
        if pad - 0.5 <= py <= height - pad + 0.5:
            parts.append(
                f'<line x1="{pad - 4}" y1="{py:.1f}" x2="{width - pad}" y2="{py:.1f}" stroke="#ddd"/>'
            )
            parts.append(
                f'<text class="tick" x="{pad - 6}" y="{py + 3:.1f}" text-anchor="end" font-size="10">{_tick_label(y)}</text>'
            )


def scatter_svg(
    points: list[tuple[str, float, float]], xlabel: str, ylabel: str, width: int = 420, height: int = 300
) -> str:
    """A labelled scatter plot."""
    pad = 48
    if not points:
        return ""
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    x0, x1 = min(xs + [0.0]), max(xs) * 1.1 or 1.0
    y0, y1 = 0.0, max(1.0, max(ys))

    def sx(x: float) -> float:
        return pad + (x - x0) / ((x1 - x0) or 1) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / ((y1 - y0) or 1) * (height - 2 * pad)

    parts = _frame(width, height, pad, xlabel, ylabel)
    xt, yt = nice_ticks(x0, x1), nice_ticks(y0, y1)
    x1, y1 = max(x1, xt[-1]), max(y1, yt[-1])
    _axis_ticks(parts, xt, yt, sx, sy, pad, width, height)
    for label, x, y in points:
        text = f"{label} ({x:.3g}, {y:.3f})"
        parts.append(
            f'<circle class="point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="#1f77b4"><title>{html.escape(text)}</title></circle>'
        )
        parts.append(
            f'<text class="label" x="{sx(x) + 7:.1f}" y="{sy(y) - 6:.1f}" font-size="11">{html.escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_svg(
    series: dict[str, list[tuple[float, float]]],
    xlabel: str,
    ylabel: str,
    width: int = 420,
    height: int = 300,
) -> str:
    """Lines (e.g. R@1 over training minutes)."""
    pad = 48
    pts = [p for s in series.values() for p in s]
    if not pts:
        return ""
    xt = nice_ticks(0.0, max(p[0] for p in pts) or 1.0)
    yt = nice_ticks(0.0, max(1.0, max(p[1] for p in pts)))
    x1, y1 = xt[-1], yt[-1]
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    parts = _frame(width, height, pad, xlabel, ylabel)
    _axis_ticks(
        parts,
        xt,
        yt,
        lambda x: pad + x / x1 * (width - 2 * pad),
        lambda y: height - pad - y / y1 * (height - 2 * pad),
        pad,
        width,
        height,
    )
    for k, (name, s) in enumerate(series.items()):
        lx, ly = s[-1]
        parts.append(
            f'<circle class="point" cx="{pad + lx / x1 * (width - 2 * pad):.1f}" cy="{height - pad - ly / y1 * (height - 2 * pad):.1f}" r="3" fill="{colors[k % 4]}"><title>{html.escape(name)}: {ly:.3f} at {lx:.1f}</title></circle>'
        )
        coords = " ".join(
            f"{pad + x / x1 * (width - 2 * pad):.1f},{height - pad - y / y1 * (height - 2 * pad):.1f}"
            for x, y in s
        )
        parts.append(
            f'<polyline class="series" points="{coords}" fill="none" stroke="{colors[k % 4]}" stroke-width="2"><title>{html.escape(name)}</title></polyline>'
        )
        parts.append(
            f'<text x="{width - pad}" y="{pad + 14 * k}" text-anchor="end" font-size="11" fill="{colors[k % 4]}">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(values: dict[str, float], ylabel: str, width: int = 420, height: int = 300) -> str:
    """Bars (e.g. a metric per ESP style)."""
    if not values:
        return ""
    pad, n = 48, len(values)
    yt = nice_ticks(0.0, max(values.values()) or 1.0)
    top = yt[-1] or 1.0
    bw = (width - 2 * pad) / n
    parts = _frame(width, height, pad, "", ylabel)
    _axis_ticks(
        parts, [], yt, lambda x: x, lambda y: height - pad - y / top * (height - 2 * pad), pad, width, height
    )
    for i, (name, v) in enumerate(values.items()):
        h = v / top * (height - 2 * pad)
        x = pad + i * bw
        parts.append(
            f'<rect class="bar" x="{x + 4:.1f}" y="{height - pad - h:.1f}" width="{bw - 8:.1f}" height="{h:.1f}" fill="#2ca02c"><title>{html.escape(name)}: {v:.3f}</title></rect>'
        )
        parts.append(
            f'<text class="label" x="{x + bw / 2:.1f}" y="{height - pad - h - 4:.1f}" text-anchor="middle" font-size="10">{v:.3f}</text>'
        )
        parts.append(
            f'<text x="{x + bw / 2:.1f}" y="{height - pad + 14}" text-anchor="middle" font-size="11">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.from(body.rows), asc = th.dataset.asc !== 'true';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.querySelectorAll('th').forEach(function (h) { h.dataset.asc = ''; });
    th.dataset.asc = asc ? 'true' : 'false';
  });
});
"""


def index_html(
    rows: list[dict[str, Any]],
    records: list[dict[str, Any]],
    curves: dict[str, list[tuple[float, float]]],
    reward_blocks: list[str] | None = None,
) -> str:
    """A self-contained page: sortable tables per benchmark and SVG plots."""
    body = [
        "<h1>rewardkit leaderboard</h1>",
        "<p>Rows marked <em>reported in paper</em> are quoted from VLRM Table 3; all others were measured by rewardkit.</p>",
    ]
    for bench in sorted({r["benchmark"] for r in rows}):
        sub = [r for r in rows if r["benchmark"] == bench]
        cols = [c for c in COLUMNS if c != "benchmark" and any(r.get(c) is not None for r in sub)]
        body.append(f'<h2 id="{html.escape(bench)}">{html.escape(bench)}</h2>')
        body.append(f'<p class="scale">{html.escape(SCALE_NOTE)}</p>')
        body.append(
            f'<table class="sortable" data-benchmark="{html.escape(bench)}"><thead><tr>'
            + "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            + "</tr></thead><tbody>"
        )
        for r in sub:
            cls = "paper" if r["source"] != "measured by rewardkit" else "measured"
            cells = "".join(
                f'<td data-v="{html.escape(str(r.get(c) if r.get(c) is not None else ""))}">{html.escape(_fmt(r.get(c)))}</td>'
                for c in cols
            )
            body.append(f'<tr class="{cls}">{cells}</tr>')
        body.append("</tbody></table>")
        points = [
            (r["model"], r["CIDEr-D"], r["R@1"])
            for r in sub
            if r.get("CIDEr-D") is not None and r.get("R@1") is not None
        ]
        if points:
            body.append(
                f"<figure><figcaption>{html.escape(bench)}: R@1 vs CIDEr-D</figcaption>{scatter_svg(points, 'CIDEr-D', 'R@1')}</figure>"
            )
    for rec in records:
        styles = rec.get("metrics", {}).get("esp", {}).get("styles", {})
        vals = {s: v["CIDEr-D"] for s, v in styles.items() if "CIDEr-D" in v}
        if vals:
            body.append(
                f"<figure><figcaption>{html.escape(rec['model'])} on ESP: CIDEr-D per style</figcaption>{bars_svg(vals, 'CIDEr-D')}</figure>"
            )
    body += reward_blocks or []
    if curves:
        body.append(
            f"<figure><figcaption>A2C on the toy worlds: probe R@1 over training minutes (toy-hard: its compositional split)</figcaption>{line_svg(curves, 'minutes', 'R@1')}</figure>"
        )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{cursor:pointer;background:#f3f3f3}"
        "tr.paper td{color:#666;font-style:italic}figure{display:inline-block;margin:1em}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>rewardkit leaderboard</title>'
        f"<style>{style}</style></head><body>{''.join(body)}<script>{_SORT_JS}</script></body></html>\n"
    )


def _curves(path: Path) -> dict[str, list[tuple[float, float]]]:
    """(minutes, probe R@1) points of a toy_a2c result file: its ``curve``, or one per preset of a toy_hard file's ``runs``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs = {path.stem: data} if "runs" not in data else data["runs"]
        return {
            name: [(float(c["minutes"]), float(c["probe_R@1"])) for c in run.get("curve", [])]
            for name, run in runs.items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ResultError(f"--curve {path}: not a toy_a2c result with a 'curve' ({exc})") from None


def build(
    results: Path,
    out: Path,
    curves_from: list[Path] | None = None,
    *,
    allow_empty: bool = False,
    log: Any = None,
) -> dict[str, Path]:
    """Write results.csv, README.md and index.html; training curves come from toy_a2c result files.

    Everything is built in a temporary folder first; the three files replace the old ones only
    when all of them were built.
    """
    import tempfile

    import pandas as pd

    from rewardkit.leaderboard.rewards import REWARD_COLUMNS, reward_html, reward_markdown, reward_rows

    everything = load_results(results, allow_empty=allow_empty, log=log)
    records = [r for r in everything if r.get("kind") != "reward"]
    rows = table_rows(records)
    rrows = reward_rows([r for r in everything if r.get("kind") == "reward"])
    curves: dict[str, list[tuple[float, float]]] = {}
    for path in curves_from or []:
        if not path.is_file():
            raise ResultError(f"--curve {path}: no such file")
        for name, pts in _curves(path).items():
            if pts:
                curves[name] = pts
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = {"csv": "results.csv", "rewards": "rewards.csv", "readme": "README.md", "html": "index.html"}
        with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
            staged = Path(tmp)
            frame = pd.DataFrame(rows, columns=COLUMNS)
            frame = frame.apply(lambda col: col.map(csv_safe)) if len(frame) else frame
            frame.to_csv(staged / names["csv"], index=False)
            rframe = pd.DataFrame(rrows, columns=REWARD_COLUMNS)
            rframe = rframe.apply(lambda col: col.map(csv_safe)) if len(rframe) else rframe
            rframe.to_csv(staged / names["rewards"], index=False)
            readme = markdown(rows) + "\n" + "\n".join(reward_markdown(rrows, md_cell)) + "\n"
            (staged / names["readme"]).write_text(readme, encoding="utf-8")
            (staged / names["html"]).write_text(
                index_html(rows, records, curves, reward_html(rrows)), encoding="utf-8"
            )
            for name in names.values():
                os.replace(staged / name, out / name)
    except OSError as exc:
        raise ResultError(f"{out}: cannot write the leaderboard ({exc.strerror or exc})") from None
    return {key: out / name for key, name in names.items()}

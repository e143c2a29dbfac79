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
    "claim precision",
    "claim recall",
    "grammatical",
    "date",
]
CLAIM_KEYS = {
    "claim precision": "claim_precision",
    "claim recall": "claim_recall",
    "grammatical": "grammatical",
}
"""Table columns of the toy benchmarks' claim metrics (``rewardkit.toy.claims``) and their keys in ``metrics``."""
CAPTION_METRICS = ("CLIPScore", "CIDEr-D", "BLEU-4", "METEOR", "ROUGE-L")


class ResultError(RewardkitError):
    """A result JSON that cannot be shown: named by file and field."""


def _drop_non_finite(value: Any, where: str, notes: list[str]) -> Any:
    """``value`` with every NaN or infinite number replaced by ``None`` (each named in ``notes``)."""
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{where} is {value}")
        return None
    if isinstance(value, dict):
        return {k: _drop_non_finite(v, f"{where}.{k}", notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_non_finite(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
    return value


def check_result(path: Path, rec: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """A result record checked field by field (model, benchmark, metrics, n, date, source).

    A NaN or infinite metric is not a number a table can rank or a plot can place: it is shown
    as "–" and left out of the plots, and named in ``notes`` (``leaderboard build`` prints them).
    """
    if not isinstance(rec, dict):
        raise ResultError(f"{path}: a result must be a JSON object, not {type(rec).__name__}")
    for key in ("model", "benchmark"):
        if key not in rec:
            raise ResultError(f"{path}: missing field {key!r}")
        if not isinstance(rec[key], str) or not rec[key]:
            raise ResultError(f"{path}: field {key!r} must be a non-empty string, not {rec[key]!r}")
    if not isinstance(rec.get("metrics"), dict):
        raise ResultError(f"{path}: field 'metrics' must be an object")
    found: list[str] = []
    rec = {**rec, "metrics": _drop_non_finite(rec["metrics"], "metrics", found)}
    if notes is not None:
        notes += [f"{path.name}: {f}: shown as \u2013 and left out of the plots" for f in found]
    recall = rec["metrics"].get("clip_recall", {})
    if not isinstance(recall, dict):
        raise ResultError(f"{path}: field 'metrics.clip_recall' must be an object")
    numbers = list(recall.items())
    numbers += [(k, rec["metrics"].get(k)) for k in (*CAPTION_METRICS, *CLAIM_KEYS.values())]
    for key, value in numbers:
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
    notes: list[str] = []
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
        rows.append(check_result(path, rec, notes))
    if skipped and log is not None:
        log(f"not results (no model, benchmark or metrics field), left out: {', '.join(skipped)}")
    for note in notes if log is not None else []:
        log(note)
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


# ------------------------------------------------------------------ plots (matplotlib, inline SVG: rewardkit/leaderboard/plots.py)


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


def _points(sub: list[dict[str, Any]], x: str, y: str) -> list[tuple[str, list[float], list[float]]]:
    """Per model, the ``(x, y)`` of each of its rows where both are numbers (several rows: several seeds)."""
    by_model: dict[str, tuple[list[float], list[float]]] = {}
    for r in sub:
        if r.get(x) is not None and r.get(y) is not None:
            xs, ys = by_model.setdefault(r["model"], ([], []))
            xs.append(r[x])
            ys.append(r[y])
    return [(m, xs, ys) for m, (xs, ys) in by_model.items()]


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{html.escape(caption)}</figcaption>{svg}</figure>" if svg else ""


def index_html(
    rows: list[dict[str, Any]],
    records: list[dict[str, Any]],
    curves: dict[str, list[list[tuple[float, float]]]],
    reward_blocks: list[str] | None = None,
) -> str:
    """A self-contained page: sortable tables per benchmark and pool size, and plots (matplotlib SVG)."""
    from rewardkit.leaderboard.plots import bars_svg, line_svg, scatter_svg

    body = [
        "<h1>rewardkit leaderboard</h1>",
        "<p>Rows marked <em>reported in paper</em> are quoted from VLRM Table 3; all others were measured by rewardkit. "
        "A metric shown as &ndash; was not measured or was not a finite number.</p>",
    ]
    parts = groups(rows)
    for bench in sorted({b for b, _, _ in parts}):
        mine = [(n, sub) for b, n, sub in parts if b == bench]
        body.append(f'<h2 id="{html.escape(bench)}">{html.escape(bench)}</h2>')
        body.append(f'<p class="scale">{html.escape(SCALE_NOTE)}</p>')
        if any(r.get("claim precision") is not None for _, sub in mine for r in sub):
            body.append(f'<p class="claims">{html.escape(CLAIM_NOTE)}</p>')
        if len(mine) > 1:
            body.append(
                f'<p class="pools"><strong>Measured on {len(mine)} pool sizes.</strong> {html.escape(POOL_NOTE)}</p>'
            )
        for n, sub in mine:
            cols = _columns(sub)
            title = f"{bench}, {_pool(n)}"
            if len(mine) > 1:
                body.append(f"<h3>{html.escape(title)}</h3>")
            body.append(
                f'<table class="sortable" data-benchmark="{html.escape(bench)}" data-n="{html.escape(str(n))}"><thead><tr>'
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
            body.append(
                _figure(
                    f"{title}: R@1 vs CIDEr-D", scatter_svg(_points(sub, "CIDEr-D", "R@1"), "CIDEr-D", "R@1")
                )
            )
            body.append(
                _figure(
                    f"{title}: claim precision vs claim recall",
                    scatter_svg(
                        _points(sub, "claim recall", "claim precision"),
                        "claim recall",
                        "claim precision",
                        x_share=True,
                    ),
                )
            )
    for rec in records:
        styles = rec.get("metrics", {}).get("esp", {}).get("styles", {})
        vals = {
            s: v["CIDEr-D"] for s, v in styles.items() if isinstance(v, dict) and v.get("CIDEr-D") is not None
        }
        body.append(_figure(f"{rec['model']} on ESP: CIDEr-D per style", bars_svg(vals, "CIDEr-D")))
    body += reward_blocks or []
    if curves:
        body.append(
            _figure(
                "A2C on the toy worlds: probe R@1 over training minutes (toy-hard: its compositional split)",
                line_svg(curves, "minutes of training", "probe R@1"),
            )
        )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}th{cursor:pointer;background:#f3f3f3}"
        "tr.paper td{color:#666;font-style:italic}figure{display:inline-block;margin:1em;vertical-align:top}"
        "figcaption{font-size:0.95em;margin-bottom:0.3em}svg.plot{max-width:100%;height:auto}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>rewardkit leaderboard</title>'
        f"<style>{style}</style></head><body>{''.join(body)}<script>{_SORT_JS}</script></body></html>\n"
    )


def _run_curves(run: Any) -> list[list[tuple[float, float]]]:
    """A run's curves: its ``curve``, or one per seed from ``seeds`` (a list, or a dict by seed, of runs with a ``curve``)."""
    if "seeds" in run:
        seeds = run["seeds"]
        seeds = list(seeds.values()) if isinstance(seeds, dict) else seeds
        return [c for seed_run in seeds for c in _run_curves(seed_run)]
    return [[(float(c["minutes"]), float(c["probe_R@1"])) for c in run.get("curve", [])]]


def _curves(path: Path) -> dict[str, list[list[tuple[float, float]]]]:
    """(minutes, probe R@1) runs of a toy_a2c result file: its ``curve``, or per preset of a toy_hard file's ``runs``.

    A run with ``seeds`` (runs of the same setting with other seeds) is drawn as its mean with a band.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs = {path.stem: data} if "runs" not in data else data["runs"]
        return {name: [c for c in _run_curves(run) if c] for name, run in runs.items()}
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
    """Write results.csv, rewards.csv, README.md and index.html; training curves come from toy_a2c result files.

    Everything is built in a temporary folder first; the files replace the old ones only when all
    of them were built. NaN or infinite metrics are shown as "–", left out of the plots and named
    through ``log``.
    """
    import tempfile

    import pandas as pd

    from rewardkit.leaderboard.rewards import REWARD_COLUMNS, reward_html, reward_markdown, reward_rows

    everything = load_results(results, allow_empty=allow_empty, log=log)
    records = [r for r in everything if r.get("kind") != "reward"]
    rows = table_rows(records)
    rrows = reward_rows([r for r in everything if r.get("kind") == "reward"])
    curves: dict[str, list[list[tuple[float, float]]]] = {}
    for path in curves_from or []:
        if not path.is_file():
            raise ResultError(f"--curve {path}: no such file")
        for name, runs in _curves(path).items():
            bad = sum(not (math.isfinite(x) and math.isfinite(y)) for run in runs for x, y in run)
            if bad and log is not None:
                log(f"--curve {path.name}: {name}: {bad} non-finite points left out of the plot")
            if runs:
                curves[name] = runs
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

"""The leaderboard's static page: sortable tables per benchmark and pool size, and plots (matplotlib SVG,
:mod:`rewardkit.leaderboard.plots`)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from rewardkit.leaderboard.tables import (
    CLAIM_NOTE,
    POOL_NOTE,
    SCALE_NOTE,
    _columns,
    _fmt,
    _pool,
    groups,
)

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


def sortable_table(
    attributes: str, cols: list[str], rows: list[dict[str, Any]], fmt: Callable[[Any], str]
) -> list[str]:
    """A sortable table's HTML: a header of ``cols``, a row per record (paper rows marked), each cell's raw
    value in ``data-v`` for sorting and ``fmt`` of it shown."""
    out = [
        f'<table class="sortable" {attributes}><thead><tr>'
        + "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        + "</tr></thead><tbody>"
    ]
    for r in rows:
        cls = "paper" if r["source"] != "measured by rewardkit" else "measured"
        cells = "".join(
            f'<td data-v="{html.escape(str(r.get(c) if r.get(c) is not None else ""))}">{html.escape(fmt(r.get(c)))}</td>'
            for c in cols
        )
        out.append(f'<tr class="{cls}">{cells}</tr>')
    out.append("</tbody></table>")
    return out


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
            attributes = f'data-benchmark="{html.escape(bench)}" data-n="{html.escape(str(n))}"'
            body += sortable_table(attributes, cols, sub, _fmt)
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

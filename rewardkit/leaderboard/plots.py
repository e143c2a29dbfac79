"""The leaderboard's plots, drawn with matplotlib as inline SVG (text kept as text, no network, no JavaScript).

Every plot keeps its legend outside the axes, so labels never sit on points or on each other;
results measured several times (seeds) are drawn as their mean with a band (curves) or bars
(points) spanning the lowest to the highest run.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FONT_SIZE = 10


def _figure(width: float = 6.4, height: float = 3.6) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _svg(fig: Any) -> str:
    """The figure as an inline ``<svg>`` element with real ``<text>`` labels and stable ids."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rewardkit", "font.size": FONT_SIZE}):
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.15, metadata={"Date": None})
    text = buf.getvalue()
    return '<svg class="plot" ' + text[text.index("<svg") + len("<svg ") :]


def _style(ax: Any, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE + 1)
    ax.set_ylabel(ylabel, fontsize=FONT_SIZE + 1)
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=FONT_SIZE, pad=6)  # room between the two axes' labels at the origin
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend(ax: Any, title: str | None = None) -> None:
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize=FONT_SIZE,
        title=title,
        title_fontsize=FONT_SIZE,
        borderaxespad=0.0,
    )


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def scatter_svg(
    points: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    *,
    x_share: bool = False,
) -> str:
    """One marker per label at the mean of its runs, with error bars from the lowest to the highest run.

    ``points``: ``(label, xs, ys)`` with one value per run (a seed); non-finite runs are left out.
    ``x_share``: x is a share, drawn from 0 to 1.
    """
    fig = _figure()
    ax = fig.add_subplot()
    drawn = 0
    for k, (label, xs, ys) in enumerate(points):
        runs = [(x, y) for x, y in zip(xs, ys) if _finite(x, y)]
        if not runs:
            continue
        px, py = [r[0] for r in runs], [r[1] for r in runs]
        mx, my = sum(px) / len(px), sum(py) / len(py)
        text = f"{label} (R@1 {my:.3f})" if ylabel == "R@1" else label
        if len(runs) > 1:
            text += f", {len(runs)} runs"
            ax.errorbar(
                mx,
                my,
                xerr=[[mx - min(px)], [max(px) - mx]],
                yerr=[[my - min(py)], [max(py) - my]],
                fmt="none",
                ecolor=COLORS[k % len(COLORS)],
                elinewidth=1.2,
                capsize=3,
            )
        ax.scatter(
            [mx], [my], s=46, color=COLORS[k % len(COLORS)], marker=MARKERS[k % len(MARKERS)], label=text
        )
        drawn += 1
    if not drawn:
        return ""
    _style(ax, xlabel, ylabel)
    ax.set_xlim(0, 1.02 if x_share else None)
    ax.set_ylim(0, max(1.02, ax.get_ylim()[1]))
    _legend(ax, "bars: lowest to highest run" if any(len(p[1]) > 1 for p in points) else None)
    return _svg(fig)


def _mean_band(
    runs: list[list[tuple[float, float]]],
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Mean, lowest and highest of several runs' curves on the x values they share (runs interpolated linearly)."""
    import numpy as np

    start = max(r[0][0] for r in runs)
    end = min(r[-1][0] for r in runs)
    grid = sorted({x for r in runs for x, _ in r if start <= x <= end}) or [start]
    ys = np.array([np.interp(grid, [p[0] for p in r], [p[1] for p in r]) for r in runs])
    return grid, list(ys.mean(0)), list(ys.min(0)), list(ys.max(0))


def line_svg(series: dict[str, list[list[tuple[float, float]]]], xlabel: str, ylabel: str) -> str:
    """Curves over training time, one per series; a series with several runs is its mean with a lowest-highest band.

    ``series``: name -> runs, each run a list of ``(x, y)`` points; non-finite points are left out.
    """
    fig = _figure()
    ax = fig.add_subplot()
    drawn = 0
    banded = False
    for k, (name, runs) in enumerate(series.items()):
        runs = [sorted((x, y) for x, y in r if _finite(x, y)) for r in runs]
        runs = [r for r in runs if r]
        if not runs:
            continue
        color = COLORS[k % len(COLORS)]
        if len(runs) == 1:
            xs, ys = zip(*runs[0])
            ax.plot(xs, ys, color=color, linewidth=1.8, marker=".", markersize=4, label=name)
        else:
            grid, mean, low, high = _mean_band(runs)
            ax.fill_between(grid, low, high, color=color, alpha=0.18, linewidth=0)
            ax.plot(grid, mean, color=color, linewidth=1.8, label=f"{name} (mean of {len(runs)} seeds)")
            banded = True
        drawn += 1
    if not drawn:
        return ""
    _style(ax, xlabel, ylabel)
    ax.set_xlim(left=0)
    ax.set_ylim(0, max(1.02, ax.get_ylim()[1]))
    _legend(ax, "band: lowest to highest seed" if banded else None)
    return _svg(fig)


def bars_svg(values: dict[str, float], ylabel: str) -> str:
    """Bars with their values written above them (e.g. a metric per ESP style); non-finite values are left out."""
    values = {k: v for k, v in values.items() if _finite(v)}
    if not values:
        return ""
    fig = _figure(max(3.2, 0.9 * len(values) + 1.2), 3.2)
    ax = fig.add_subplot()
    names = list(values)
    bars = ax.bar(names, [values[n] for n in names], color=COLORS[2], width=0.6)
    ax.bar_label(bars, labels=[f"{values[n]:.3f}" for n in names], padding=2, fontsize=FONT_SIZE - 1)
    _style(ax, "", ylabel)
    ax.grid(False, axis="x")
    ax.set_ylim(0, max(values.values()) * 1.18 or 1.0)
    if len(names) > 4:
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
    return _svg(fig)

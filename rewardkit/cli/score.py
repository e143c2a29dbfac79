"""``rewardkit score``: wiring of options, progress, sharding and the summary table (no logic of its own)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rewardkit.scoring.distributed import dist_env
from rewardkit.scoring.lock import output_lock
from rewardkit.scoring.pipeline import (
    ScoreConfig,
    ScoreResult,
    check_config,
    finish,
    run_score,
    sidecar,
)


def _progress(quiet: bool, console: Console) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class RowsPerSecond(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task: Any) -> Any:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f} rows/s" if speed else "", style="cyan")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,  # a log gets one line per problem, no bar frames
        transient=False,
    )


def render_summary(
    summary: dict[str, Any], out: Path, console: Console, *, all_conventions: bool = False
) -> None:
    """The summary as a Rich table: each metric with its pool and scale, each component with its weight and share."""
    table = Table(title=f"{summary['n_scored']} of {summary['n_rows']} rows scored ({summary['preset']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("share of total", justify="right")
    for name, st in summary.get("components", {}).items():
        weight = st.get("weight")
        share = st.get("share")
        table.add_row(
            f"{name} (mean ± std)",
            f"{st['mean']:.4f} ± {st['std']:.4f}",
            "" if weight is None else f"{weight:g}",
            "" if share is None or share != share else f"{100 * share:.1f} %",
        )
    pool = summary.get("n_images")
    over = f" over {pool} images" if pool else ""
    for key, value in summary.get("clip_recall", {}).items():
        table.add_row(f"CLIP Recall {key} (text→image{over})", f"{value:.4f}")
    for key, value in summary.get("clip_recall_per_image", {}).items():
        table.add_row(f"CLIP Recall {key} (per image{over})", f"{value:.4f}")
    keys = ["CLIPScore", "RefCLIPScore"]
    if all_conventions:
        keys = ["CLIPScore", "CLIPScore_torchmetrics", "RefCLIPScore", "RefCLIPScore_clipscore_py"]
    for key in keys:
        if key in summary:
            table.add_row(
                f"{key} (0-2.5 scale)" if key in ("CLIPScore", "RefCLIPScore") else key, f"{summary[key]:.4f}"
            )
    for key, value in summary.get("coco", {}).items():
        table.add_row(key, f"{value:.4f}")
    esp = summary.get("esp")
    if esp:
        for key, value in esp.get("mean", {}).items():
            table.add_row(f"ESP mean {key}", f"{value:.4f}")
        for key, value in esp.get("diversity", {}).items():
            table.add_row(f"ESP {key}", f"{value:.4f}")
    if summary.get("n_errors"):
        table.add_row("bad rows", f"{summary['n_errors']} (see {sidecar(out, '.errors.jsonl').name})")
    console.print(table)
    for note in summary.get("notes", []):
        console.print(f"[dim]note: {note}[/]")
    if not all_conventions and any(
        k in summary for k in ("CLIPScore_torchmetrics", "RefCLIPScore_clipscore_py")
    ):
        console.print("[dim]other CLIPScore conventions: in the summary JSON, or --all-conventions[/]")
    console.print(f"rows: {out}\nsummary: {sidecar(out, '.summary.json')}")


def score_command(config: ScoreConfig, *, quiet: bool = False, all_conventions: bool = False) -> int:
    """Run a (possibly sharded) scoring job; returns the exit code."""
    rank, world = dist_env()
    check_config(config, world)
    console = Console(stderr=True)
    if world > 1:
        return _score_sharded(
            config, rank, world, quiet=quiet, console=console, all_conventions=all_conventions
        )
    with output_lock(config.out), _progress(quiet, console) as bar:
        task = bar.add_task("checking rows", total=None)

        def stage(text: str) -> None:
            bar.update(task, description=text)

        result = run_score(
            config,
            progress=lambda n: bar.advance(task, n),
            on_total=lambda n: bar.update(task, total=n),
            stage=stage,
        )
        result = finish(config, result, stage=stage)
        bar.update(task, description="done")
    _report(config, result, quiet, all_conventions)
    return 0


def _report(config: ScoreConfig, result: ScoreResult, quiet: bool, all_conventions: bool = False) -> None:
    if result.errors:
        Console(stderr=True).print(
            f"[yellow]{len(result.errors)} bad rows skipped[/], listed in {sidecar(config.out, '.errors.jsonl')}",
            highlight=False,
        )
    if result.skipped_existing:
        Console(stderr=True).print(f"resumed: {result.skipped_existing} rows were already in {config.out}")
    if not quiet and result.summary:
        render_summary(result.summary, config.out, Console(), all_conventions=all_conventions)


def _score_sharded(
    config: ScoreConfig,
    rank: int,
    world: int,
    *,
    quiet: bool,
    console: Console,
    all_conventions: bool = False,
) -> int:
    """A sharded run (:func:`rewardkit.scoring.distributed.score_sharded`) with rank 0's bar, error line and table."""
    from rewardkit.scoring.distributed import score_sharded

    with _progress(quiet or rank != 0, console) as bar:
        task = bar.add_task("checking rows", total=None)
        outcome = score_sharded(
            config,
            rank,
            world,
            progress=lambda n: bar.advance(task, n * world),
            on_total=lambda n: bar.update(task, total=n),
            stage=lambda text: bar.update(task, description=text),
        )
    if outcome.error is not None:
        console.print(f"[bold red]error:[/] {outcome.error}", highlight=False, soft_wrap=True)
    elif outcome.result is not None:
        _report(config, outcome.result, quiet, all_conventions)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(outcome.code)

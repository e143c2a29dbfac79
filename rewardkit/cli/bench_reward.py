"""``rewardkit bench --reward A,B --benchmark X,Y``: several reward models on several benchmarks, one table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table


@contextmanager
def stage_progress(
    console: Console, quiet: bool, *, advancing: tuple[str, ...] = ()
) -> Iterator[Callable[[str, int, int], None]]:
    """A bar per stage, fed by ``progress(stage, done, total)``: ``done`` is the count so far, or the
    count just finished for the stages in ``advancing``. Off with ``quiet`` and when ``console`` is
    not a terminal (a log gets one line per problem, no bar frames)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            if stage in advancing:
                bar.advance(tasks[stage], done)
            else:
                bar.update(tasks[stage], completed=done, total=total or None)

        yield progress


def bench_reward_command(
    reward: str,
    benchmark: str,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    quiet: bool,
    nebula_corrections: bool,
    err_console: Console,
) -> None:
    """Run every reward on every benchmark, print one table (headline per cell), truncation and the files written."""
    from rewardkit.bench.reward_run import results_table, run_reward_benches, split_names

    rewards, benchmarks = split_names(reward), split_names(benchmark)
    with stage_progress(err_console, quiet) as progress:
        records = run_reward_benches(
            rewards,
            benchmarks,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            out=out,
            device=device,
            batch_size=batch_size,
            progress=progress,
            nebula_corrections=nebula_corrections,
        )
    if quiet:
        return
    console = Console()
    header, rows = results_table(records)
    table = Table(title="Reward models (Kendall tau and accuracies x100; hackability: 0 = no gain)")
    for h in header:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for rec in records:
        n = f"n={rec['n']}"
        from rewardkit.leaderboard.rewards import _detail

        m = rec["metrics"]
        extra = f" ({_detail(m)})" if _detail(m) else ""
        if "aspects" in m:
            extra = (
                " ("
                + ", ".join(
                    f"{a} tau-b {v.get('tau_b') or float('nan'):.1f} tau-c {v.get('tau_c') or float('nan'):.1f}"
                    for a, v in m["aspects"].items()
                )
                + ")"
            )
        console.print(f"{rec['model']} on {rec['benchmark']} ({n}){extra}: {rec['truncation_note']}")
    console.print("wrote: " + ", ".join(r["path"] for r in records))


def export_samples_command(
    benchmark: str,
    out: Path,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    nebula_corrections: bool,
    quiet: bool,
) -> None:
    """Write a benchmark's samples for CaptionEvalKit (``capevalkit score --predictions ... --references ...``)."""
    from rewardkit.adapters.capevalkit import export_samples
    from rewardkit.bench.reward_run import split_names
    from rewardkit.errors import RewardkitError

    names = split_names(benchmark)
    if len(names) != 1:
        raise RewardkitError("--export-samples writes one benchmark at a time; give one --benchmark")
    res = export_samples(
        names[0], out, data_dir=data_dir, limit=limit, seed=seed, nebula_corrections=nebula_corrections
    )
    if not quiet:
        Console().print(
            f"{res['samples']} samples of {names[0]} ({res['images']} images written): "
            f"{res['predictions']}, {res['references']}"
        )

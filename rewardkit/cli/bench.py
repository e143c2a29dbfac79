"""``rewardkit bench``: the options checked and wired to a captioner's benchmark run or to reward benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from rewardkit.errors import RewardkitError


def bench_command(
    model: str | None,
    reward: str | None,
    benchmark: str | None,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    no_repeat_ngram_size: int | None,
    prompt: str | None,
    max_new_tokens: int | None,
    quiet: bool,
    nebula_corrections: bool,
    export_samples: Path | None,
    err_console: Any,
) -> None:
    """One of: export a benchmark's samples, benchmark reward models (``--reward``), or caption and evaluate (``--model``)."""

    from rewardkit.bench.run import run_bench

    if export_samples is not None:
        from rewardkit.cli.bench_reward import export_samples_command

        if model is not None or reward is not None or benchmark is None:
            raise RewardkitError("--export-samples takes a --benchmark and no --model or --reward")
        export_samples_command(
            benchmark,
            export_samples,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            nebula_corrections=nebula_corrections,
            quiet=quiet,
        )
        return
    if (model is None) == (reward is None):
        raise RewardkitError("give exactly one of --model (a captioner) or --reward (a reward model)")
    if reward is not None:
        if benchmark is None:
            raise RewardkitError(
                "--reward needs --benchmark (e.g. toy-foil, toy-pairs, toy-hack, flickr8k-expert)"
            )
        used = [
            f
            for f, v in (
                ("--prompt", prompt),
                ("--max-new-tokens", max_new_tokens),
                ("--no-repeat-ngram-size", no_repeat_ngram_size),
            )
            if v is not None
        ]
        if used:
            raise RewardkitError(f"{', '.join(used)} apply to captioners (--model), not to --reward")
        from rewardkit.cli.bench_reward import bench_reward_command

        bench_reward_command(
            reward,
            benchmark,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            out=out,
            device=device,
            batch_size=batch_size,
            quiet=quiet,
            nebula_corrections=nebula_corrections,
            err_console=err_console,
        )
        return

    from rewardkit.cli.bench_reward import stage_progress

    with stage_progress(err_console, quiet, advancing=("scoring",)) as progress:
        record = run_bench(
            model,
            benchmark,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            out=out,
            device=device,
            batch_size=batch_size,
            generation=None
            if no_repeat_ngram_size is None
            else {"no_repeat_ngram_size": no_repeat_ngram_size},
            progress=progress,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
        )
    if not quiet:
        m = record["metrics"]
        r = m.get("clip_recall", {})
        Console().print(
            f"{record['model']} on {record['benchmark']} (n={record['n']}): "
            + ", ".join(f"{k} {v:.3f}" for k, v in r.items())
            + (f", CIDEr-D {m['CIDEr-D']:.3f}" if "CIDEr-D" in m else "")
            + "".join(
                f", {label} {m[k]:.3f}"
                for k, label in (("claim_precision", "claim precision"), ("claim_recall", "claim recall"))
                if isinstance(m.get(k), float)
            )
        )
    err_console.print("wrote " + ", ".join(str(out / name) for name in record.get("files", [])))

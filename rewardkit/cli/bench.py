"""``rewardkit bench``: the options checked and wired to a captioner's benchmark run or to reward benchmarks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rewardkit.cli.help import NAMES
from rewardkit.errors import RewardkitError

err_console = Console(stderr=True)


def bench(
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help=f"A captioner: a name from `rewardkit models` ({NAMES['captioners']}), a folder "
        "(a `rewardkit train` OUT or OUT/policy, any saved captioner), hf:ID_OR_PATH, or captions:PATH.",
    ),
    reward: str | None = typer.Option(
        None,
        "--reward",
        "-r",
        help="Benchmark reward models instead: preset names or files (their weighted total), PRESET:COMPONENT "
        "or capevalkit:SCORES.json[#KEY] (CaptionEvalKit per-sample scores); several as A,B,C.",
    ),
    benchmark: str | None = typer.Option(
        None,
        "--benchmark",
        "-b",
        help=f"Captioners: {NAMES['captioning']} (default: by model). Rewards: {NAMES['reward_benchmarks']} "
        "(`rewardkit list benchmarks`).",
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder with the benchmark's annotation file and images."
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Only the first N images (toy: N scenes, default 1000)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the toy benchmark's scenes."),
    out: Path = typer.Option(
        Path("leaderboard/results"), "--out", help="Where the result JSON and captions go."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 or mps."),
    batch_size: int = typer.Option(
        32, "--batch-size", help="Images (captioning) or captions (rewards) per batch."
    ),
    no_repeat_ngram_size: int | None = typer.Option(
        None,
        "--no-repeat-ngram-size",
        min=0,
        help="Override VLRM Table 2's 2 (default: the benchmark's; toy uses 0, see its data card).",
    ),
    prompt: str | None = typer.Option(
        None,
        "--prompt",
        help="hf: models: the task prompt (default: lmms-eval's for chat models, none otherwise).",
    ),
    max_new_tokens: int | None = typer.Option(
        None,
        "--max-new-tokens",
        help="Token cap (default: VLRM Table 2's 60; hf: models lmms-eval's per task).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or result line."),
    nebula_corrections: bool = typer.Option(
        True,
        "--nebula-corrections/--no-nebula-corrections",
        help="nebula: replace human scores by Spica's corrected ones, as CaptionEvalKit does (default on).",
    ),
    export_samples: Path | None = typer.Option(
        None,
        "--export-samples",
        help="Write the --benchmark's samples to this folder for CaptionEvalKit (predictions.jsonl, "
        "references.jsonl); score them there and bench the result with --reward capevalkit:FILE.",
    ),
) -> None:
    """Caption a benchmark with a captioner and evaluate it, or (--reward) benchmark a reward model against people and probes."""

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

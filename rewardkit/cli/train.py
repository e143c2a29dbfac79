"""``rewardkit train``: options to a TrainConfig, a Rich progress bar with reward components, clean exit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console

from rewardkit.errors import RewardkitError


def train_command(
    preset: str,
    config_path: Path | None,
    steps: int | None,
    out: Path,
    resume: bool,
    policy: str | None,
    device: str | None,
    quiet: bool,
) -> int:
    """Run (or resume) an A2C job; under a multi-process launcher, end every process cleanly."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rewardkit.train.a2c import A2CTrainer
    from rewardkit.train.checkpoint import candidates, check_resume
    from rewardkit.train.config import check_policy, load_config, run_setup

    cfg = load_config(preset, config_path, steps=steps, policy=policy, device=device)
    check_policy(cfg.policy)  # before any model loads
    world = int(os.environ.get("WORLD_SIZE", "1"))
    started = (out / "metrics.jsonl").exists() or bool(candidates(out))
    if resume and not started:
        raise RewardkitError(f"--resume: {out} holds no run to resume (no checkpoints/, no metrics.jsonl)")
    if not resume and started:
        raise RewardkitError(
            f"{out} already holds a run: pass --resume to continue it or choose another --out"
        )
    if out.exists() and not out.is_dir():
        raise RewardkitError(f"--out {out} is a file; choose a folder")
    readable = [c for c in candidates(out) if (c / "config.json").is_file()] if resume else []
    if readable:  # before any model loads: the same run, or a one-line refusal naming the difference
        check_resume(readable[0], cfg.to_dict(), run_setup(cfg))
    console = Console(stderr=True)
    trainer = A2CTrainer(cfg, out, log=lambda msg: console.print(f"[yellow]{msg}[/]", highlight=False))
    if resume and trainer.load() is None:
        raise RewardkitError(
            f"--resume: {out} has no complete checkpoint (the run stopped before its first one); "
            "delete it or choose another --out to start again"
        )
    main = trainer.acc.is_main_process
    with Progress(
        TextColumn("[bold]A2C"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=quiet or not main,
    ) as bar:
        task = bar.add_task("", total=cfg.steps, completed=trainer.step_index)

        def on_step(m: dict) -> None:
            parts = [f"{k[:-5]} {m[k]:.3f}" for k in m if k.endswith("_mean") and k[:-5] not in ("length",)]
            if "probe_R@1" in m:
                parts.append(f"R@1 {m['probe_R@1']:.3f}")
            bar.update(task, completed=m["step"], description=" ".join(parts))

        trainer.train(cfg.steps, on_step=on_step)
    trainer.export_policy(out / "policy")
    if main and not quiet:
        console.print(f"policy: {out / 'policy'}\nmetrics: {out / 'metrics.jsonl'}")
    if world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0

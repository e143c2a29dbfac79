"""The ``rewardkit`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from rewardkit import __version__
from rewardkit.errors import RewardkitError

app = typer.Typer(
    name="rewardkit",
    help="Vision-language models as reward models for image captioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _add_subcommands() -> None:
    from rewardkit.cli.toy import app as toy_app

    app.add_typer(toy_app, name="toy")


_add_subcommands()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rewardkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Vision-language models as reward models for image captioning."""


@app.command()
def env() -> None:
    """Print versions, device and Java availability, for bug reports."""
    from rewardkit.cli.env import collect_env, render_env

    render_env(collect_env())


@app.command()
def models(
    as_json: bool = typer.Option(False, "--json", help="Print models, aliases and presets as JSON."),
) -> None:
    """List the named models (reward models, evaluators, captioners), their aliases, and the presets."""
    import json as _json

    from rich.markup import escape
    from rich.table import Table

    from rewardkit.registry import MODELS, PRESETS

    def comps(p: Any) -> str:
        return ", ".join(
            f"{-1 if c.weight is None else c.weight:g}x{c.reward}" + (f"[{c.model}]" if c.model else "")
            for c in p.components
        )

    if as_json:
        data = {
            "models": [
                {
                    "name": MODELS.get(n).name,
                    "backend": MODELS.get(n).backend,
                    "checkpoint": MODELS.get(n).checkpoint,
                    "pretrained": MODELS.get(n).pretrained,
                    "computes": MODELS.get(n).computes,
                    "size": MODELS.get(n).size,
                }
                for n in MODELS
            ],
            "aliases": MODELS.aliases(),
            "presets": [
                {
                    "name": p.name,
                    "components": comps(p),
                    "evaluator": p.evaluator,
                    "description": p.description,
                }
                for p in (PRESETS.get(n) for n in PRESETS)
            ],
        }
        typer.echo(_json.dumps(data, indent=2))
        return
    console = Console()
    # Piped or redirected: print every cell whole (a terminal gets a table that fits its width).
    wide = {} if console.is_terminal else {"no_wrap": True, "overflow": "ignore"}
    if not console.is_terminal:
        console = Console(width=100_000)
    aliases = MODELS.aliases()
    table = Table(title="models")
    for col in ("name", "backend", "checkpoint", "computes", "size"):
        table.add_column(col, **wide)
    for name in MODELS:
        m = MODELS.get(name)
        ckpt = m.checkpoint + (f" / {m.pretrained}" if m.pretrained else "")
        also = [a for a, t in aliases.items() if t == name]
        label = m.name + (f" (also: {', '.join(also)})" if also else "")
        table.add_row(label, m.backend, ckpt, m.computes, m.size)
    console.print(table)
    presets = Table(title="presets")
    for col in ("name", escape("components (weight x reward[model])"), "evaluator", "description"):
        presets.add_column(col, **wide)
    for name in PRESETS:
        p = PRESETS.get(name)
        presets.add_row(p.name, escape(comps(p)), p.evaluator or "-", escape(p.description))
    console.print(presets)
    console.print(
        "A preset file (.yaml/.json) can be passed wherever a preset name goes; `bench --model` also takes a "
        "captioner folder, hf:ID_OR_PATH or captions:PATH; see README."
    )


@app.command()
def score(
    captions: Path = typer.Argument(
        ...,
        help="Captions file (JSONL, .jsonl.gz, JSON array, COCO results, CSV/TSV, Parquet) or - for standard input.",
    ),
    preset: str = typer.Option("toy", "--preset", "-p", help="Preset name or preset file (.yaml/.json)."),
    rewards: str | None = typer.Option(
        None, "--rewards", help="Comma-separated components of the preset to use."
    ),
    image_root: Path | None = typer.Option(
        None, "--image-root", help="Folder image paths are relative to (default: the captions file's folder)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output JSONL (default: CAPTIONS.scores.jsonl; required with -)."
    ),
    on_error: str = typer.Option(
        "fail", "--on-error", help="fail: stop at the first bad row; skip: list bad rows in OUT.errors.jsonl."
    ),
    resume: bool = typer.Option(False, "--resume", help="Keep rows already in OUT and score the rest."),
    batch_size: int = typer.Option(32, "--batch-size", help="Rows per batch (also the models' batch size)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, mps."),
    dtype: str = typer.Option("fp32", "--dtype", help="fp32, fp16 or bf16."),
    allow_outside_root: bool = typer.Option(
        False, "--allow-outside-root", help="Allow image paths outside the image root."
    ),
    java_tokenizer: bool = typer.Option(
        False, "--java-tokenizer", help="Tokenize with the COCO toolkit's Java PTBTokenizer."
    ),
    input_format: str | None = typer.Option(
        None,
        "--format",
        help="Input format instead of the one the extension says: jsonl, jsonl.gz, json, coco, csv, tsv, parquet.",
    ),
    annotations: Path | None = typer.Option(
        None,
        "--annotations",
        help="COCO captions_*.json: file names of image_id rows (COCO results) and their references.",
    ),
    images: Path | None = typer.Option(
        None, "--images", help="Folder of the images of COCO results rows (same as --image-root)."
    ),
    image_column: str = typer.Option(
        "image", "--image-column", help="Column/key holding the image path or bytes (CSV, Parquet, JSON)."
    ),
    caption_column: str = typer.Option(
        "caption", "--caption-column", help="Column/key holding the caption (CSV, Parquet, JSON)."
    ),
    no_echo: bool = typer.Option(
        False, "--no-echo", help="Leave the caption and image out of OUT rows (id and scores only)."
    ),
    all_conventions: bool = typer.Option(
        False, "--all-conventions", help="Also show the second CLIPScore/RefCLIPScore conventions in the table."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary table."),
) -> None:
    """Score a captions file: reward components per row, then CLIP Recall, CLIPScore, COCO and ESP metrics."""
    from rewardkit.cli.score import score_command
    from rewardkit.errors import RewardkitError
    from rewardkit.scoring.pipeline import ScoreConfig, default_out

    if images is not None and image_root is not None and images != image_root:
        raise RewardkitError("--images and --image-root name the same folder: give one")
    config = ScoreConfig(
        captions=captions,
        out=out or default_out(captions),
        preset=preset,
        rewards=[r.strip() for r in rewards.split(",") if r.strip()] if rewards is not None else None,
        image_root=images or image_root,
        on_error=on_error,
        resume=resume,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        allow_outside_root=allow_outside_root,
        java_tokenizer=java_tokenizer,
        format=input_format,
        annotations=annotations,
        image_column=image_column,
        caption_column=caption_column,
        echo=not no_echo,
    )
    raise typer.Exit(score_command(config, quiet=quiet, all_conventions=all_conventions))


@app.command()
def train(
    preset: str = typer.Option(
        "toy",
        "--preset",
        "-p",
        help="toy, toy-hard, toy-hard-rs, toy-hard-esper, vlrm or vlrm-rs: the reward and the default settings.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML/JSON file overriding any training setting."
    ),
    steps: int | None = typer.Option(None, "--steps", help="Total A2C iterations (default: the preset's)."),
    out: Path = typer.Option(
        Path("runs/a2c"), "--out", help="Run folder: checkpoint/, metrics.jsonl, final policy."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint exactly."),
    policy: str | None = typer.Option(
        None, "--policy", help="Starting captioner (model name or BLIP-2 folder)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="cpu or cuda (accelerate picks GPUs under accelerate launch)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fine-tune a BLIP-2 captioner with A2C and a preset's reward (VLRM Section 3.5)."""
    from rewardkit.cli.train import train_command

    raise typer.Exit(train_command(preset, config, steps, out, resume, policy, device, quiet))


@app.command()
def bench(
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="A captioner: a name from `rewardkit models` (blip2, vlrm, vlrm-rs, toy-sft, toy-a2c), a folder "
        "(a `rewardkit train` OUT or OUT/policy, any saved captioner), hf:ID_OR_PATH, or captions:PATH.",
    ),
    reward: str | None = typer.Option(
        None,
        "--reward",
        "-r",
        help="Benchmark a reward model instead: a preset name or file (its weighted total), or PRESET:COMPONENT.",
    ),
    benchmark: str | None = typer.Option(
        None,
        "--benchmark",
        "-b",
        help="Captioners: coco-karpathy-test, nocaps-val, flickr30k-test, esp or toy (default: by model). "
        "Rewards: flickr8k-expert, flickr8k-cf, polaris, pascal-50s, foil, toy-foil, toy-pairs, toy-hack.",
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
    device: str = typer.Option("auto", "--device"),
    batch_size: int = typer.Option(32, "--batch-size"),
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
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Caption a benchmark with a captioner and evaluate it, or (--reward) benchmark a reward model against people and probes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rewardkit.bench.run import run_bench

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
        _bench_reward(reward, benchmark, data_dir, limit, seed, out, device, batch_size, quiet)
        return

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            if stage == "scoring":
                bar.advance(tasks[stage], done)
            else:
                bar.update(tasks[stage], completed=done)

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
        )


def _bench_reward(
    reward: str,
    benchmark: str,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    quiet: bool,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rewardkit.bench.reward_run import run_reward_bench

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        record = run_reward_bench(
            reward,
            benchmark,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            out=out,
            device=device,
            batch_size=batch_size,
            progress=progress,
        )
    if not quiet:
        m = record["metrics"]
        head = record["headline"]
        value = m.get(head)
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        extra = ""
        if "per_category" in m:
            extra = (
                " (" + ", ".join(f"{k} {v:.1f}" for k, v in m["per_category"].items() if v is not None) + ")"
            )
        if head == "hackability":
            extra = f" (largest gain {m['max_gain']:.3f} from {m['max_gain_phrase']!r}; terse-to-full spread {m['spread_terse_to_full']:.3f})"
        Console().print(
            f"{record['model']} on {record['benchmark']} (n={record['n']}): {head} {shown}{extra}"
        )


leaderboard_app = typer.Typer(help="Build the leaderboard from result JSONs.", no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")


@leaderboard_app.command("build")
def leaderboard_build(
    results: Path = typer.Option(Path("leaderboard/results"), "--results", help="Folder of result JSONs."),
    out: Path = typer.Option(
        Path("leaderboard"), "--out", help="Where results.csv, README.md and index.html go."
    ),
    curves: list[Path] = typer.Option(
        [], "--curve", help="toy_a2c result JSON(s) with training curves to plot."
    ),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Build even when --results holds no result (paper rows only)."
    ),
) -> None:
    """Aggregate results into results.csv, README.md and a static, sortable index.html with plots."""
    from rewardkit.leaderboard.build import build

    paths = build(
        results, out, curves, allow_empty=allow_empty, log=lambda m: err_console.print(f"note: {m}")
    )
    err_console.print("wrote " + ", ".join(str(p) for p in paths.values()))


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised past the CLI framework (which would swallow a KeyboardInterrupt) to ``main``."""

    def __init__(self, signum: int = 2) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def _debug() -> bool:
    return os.environ.get("RK_DEBUG", "") not in ("", "0") or "--debug" in sys.argv[1:]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main() -> None:
    """Entry point: user mistakes become one line and exit code 2, Ctrl-C exit 130, SIGTERM 143; ``--debug``/``RK_DEBUG=1`` re-raise."""
    if "--debug" in sys.argv[1:]:
        sys.argv.remove("--debug")
        os.environ["RK_DEBUG"] = "1"
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except (Interrupted, KeyboardInterrupt) as exc:
        # SIGTERM unwinds like Ctrl-C (rows flushed, lock released) and exits 143 = 128 + SIGTERM
        term = isinstance(exc, Interrupted) and exc.signum == signal.SIGTERM
        err_console.print(
            ("terminated (SIGTERM)" if term else "interrupted")
            + " (rows already written are kept; rerun with --resume)"
        )
        sys.exit(143 if term else 130)
    except RewardkitError as exc:
        if _debug():
            raise
        err_console.print(f"[bold red]error:[/] {_one_line(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:  # a file the user named: unreadable, unwritable, disk full
        if _debug():
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        err_console.print(
            f"[bold red]error:[/] {where}{_one_line(exc.strerror or exc)}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except Exception as exc:  # a bug: still one line, the traceback on request
        if _debug():
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {_one_line(exc)[:300]} "
            "(rerun with --debug or RK_DEBUG=1 for the traceback, and please report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)

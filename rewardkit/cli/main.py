"""The ``rewardkit`` command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rewardkit import __version__
from rewardkit.cli.help import NAMES, _choices, _flags_as_flags
from rewardkit.errors import RewardkitError

_flags_as_flags()


app = typer.Typer(
    name="rewardkit",
    help="Vision-language models as reward models for image captioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _add_subcommands() -> None:
    from rewardkit.cli.serve import serve
    from rewardkit.cli.toy import app as toy_app

    app.add_typer(toy_app, name="toy")
    app.command()(serve)


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
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the full traceback of an error instead of one line (also RK_DEBUG=1; "
        "accepted anywhere on the command line).",
    ),
) -> None:
    """Vision-language models as reward models for image captioning."""


@app.command()
def env() -> None:
    """Print versions, device and Java availability, for bug reports."""
    from rewardkit.cli.env import collect_env, render_env

    render_env(collect_env())


LIST_KINDS = ["models", "presets", "rewards", "backends", "benchmarks", "tiers", "training", "value-heads"]


@app.command("list")
def list_(
    what: str | None = typer.Argument(
        None, help=f"What to list: {_choices(LIST_KINDS)} (default: everything).", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON instead of tables."),
) -> None:
    """List the registries: models, presets, rewards, backends, benchmarks, toy tiers, training defaults, value heads."""
    import json as _json

    from rewardkit.cli.catalogue import LISTS, render
    from rewardkit.registry import did_you_mean

    if what is not None and what not in LISTS:
        raise RewardkitError(
            f"rewardkit list: unknown {what!r}{did_you_mean(what, LISTS)}; use {_choices(LIST_KINDS)}"
        )
    kinds = [what] if what else LIST_KINDS
    if as_json:
        data = {k: LISTS[k]() for k in kinds}
        typer.echo(_json.dumps(data[what] if what else data, indent=2))
        return
    render(kinds, Console())


@app.command()
def models(
    as_json: bool = typer.Option(False, "--json", help="Print models, aliases and presets as JSON."),
) -> None:
    """List the named models and the presets (the same as `rewardkit list models` and `rewardkit list presets`)."""
    import json as _json

    from rewardkit.cli.catalogue import LISTS, render
    from rewardkit.registry import MODELS

    if as_json:
        data = {"models": LISTS["models"](), "aliases": MODELS.aliases(), "presets": LISTS["presets"]()}
        typer.echo(_json.dumps(data, indent=2))
        return
    console = Console()
    render(["models", "presets"], console)
    console.print(
        "A preset file (.yaml/.json) can be passed wherever a preset name goes; `bench --model` also takes a "
        "captioner folder, hf:ID_OR_PATH or captions:PATH; `rewardkit list` shows every registry; see README.",
        soft_wrap=not console.is_terminal,
    )


@app.command()
def score(
    captions: Path = typer.Argument(
        ...,
        help="Captions file (JSONL, .jsonl.gz, JSON array, COCO results, CSV/TSV, Parquet) or - for standard input.",
    ),
    preset: str = typer.Option(
        "toy", "--preset", "-p", help=f"Preset name ({NAMES['presets']}) or preset file (.yaml/.json)."
    ),
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
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=0,
        help="Image decoding/preprocessing threads, ahead of the models (default: the cores, at most 8; "
        "0: in-process). Scores are the same for any value.",
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
        False,
        "--all-conventions",
        help="Also show the second CLIPScore/RefCLIPScore conventions in the table.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary table."),
) -> None:
    """Score a captions file: reward components per row, then CLIP Recall, CLIPScore, COCO and ESP metrics."""
    from rewardkit.cli.score import score_command
    from rewardkit.errors import RewardkitError
    from rewardkit.scoring.pipeline import ScoreConfig, default_out

    if images is not None and image_root is not None and images != image_root:
        raise RewardkitError("--images and --image-root name the same folder: give one")
    out = out or default_out(captions)
    if out.is_symlink() and out.resolve().is_file() and out.resolve().parent == out.parent.resolve():
        out = out.resolve()  # a link to a file beside it: write the file, keep the link
    config = ScoreConfig(
        captions=captions,
        out=out,
        preset=preset,
        rewards=_component_names(rewards, preset),
        image_root=images or image_root,
        on_error=on_error,
        resume=resume,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        allow_outside_root=allow_outside_root,
        java_tokenizer=java_tokenizer,
        workers=workers,
        format=input_format,
        annotations=annotations,
        image_column=image_column,
        caption_column=caption_column,
        echo=not no_echo,
    )
    raise typer.Exit(score_command(config, quiet=quiet, all_conventions=all_conventions))


def _component_names(rewards: str | None, preset: str) -> list[str] | None:
    """``--rewards a,b`` as names; given but naming nothing (``--rewards ,``) is a mistake, not "all"."""
    if rewards is None:
        return None
    names = [r.strip() for r in rewards.split(",") if r.strip()]
    if not names:
        from rewardkit.presets import load_preset

        have = ", ".join(c.name for c in load_preset(preset).components)
        raise RewardkitError(
            f"--rewards {rewards!r} names no component; give some of the preset's ({have}) or leave it out for all"
        )
    return names


@app.command()
def train(
    preset: str = typer.Option(
        "toy",
        "--preset",
        "-p",
        help=f"The reward and its training defaults: {NAMES['training']} (`rewardkit list training`).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML/JSON file overriding any training setting."
    ),
    steps: int | None = typer.Option(None, "--steps", help="Total A2C iterations (default: the preset's)."),
    out: Path = typer.Option(
        Path("runs/a2c"),
        "--out",
        help="Run folder: checkpoints/ (numbered, crash-safe), metrics.jsonl, policy/ (the final captioner).",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue OUT from its newest checkpoint in OUT/checkpoints/, exactly; only steps, logging and "
        "checkpoint settings may change.",
    ),
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


from rewardkit.cli.bench import bench  # noqa: E402  (registered here: the commands' order in --help)

app.command()(bench)

leaderboard_app = typer.Typer(help="Build the leaderboard from result JSONs.", no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")


@leaderboard_app.command("build")
def leaderboard_build(
    results: Path = typer.Option(Path("leaderboard/results"), "--results", help="Folder of result JSONs."),
    out: Path = typer.Option(
        Path("leaderboard"), "--out", help="Where results.csv, rewards.csv, README.md and index.html go."
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


def main() -> None:
    """Entry point: user mistakes become one line and exit code 2, Ctrl-C exit 130, SIGTERM 143; ``--debug``/``RK_DEBUG=1`` re-raise."""
    from rewardkit.cli.errors import run

    run(app, err_console)

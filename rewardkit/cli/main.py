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


def _flags_as_flags() -> None:
    """Show flags as flags in ``--help``: typer's rich help asks every option for a type label
    (``TyperOption.display_type_rich``), flags included, so ``--quiet`` read ``--quiet <bool>`` as if it
    took a value; its plain help skips flags (``if not self.is_flag``). Do the same in the rich one."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_rewardkit", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    display_type_rich._rewardkit = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_flags()


def _choices(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def _help_names() -> dict[str, str]:
    """Choice lists for help texts, generated from the registries (never typed in by hand)."""
    from rewardkit.registry import CAPTIONER_BACKENDS, MODELS, PRESETS, TRAINING, benchmarks_of

    captioners = sorted(
        [*MODELS.names(lambda m: m.backend in CAPTIONER_BACKENDS)]
        + [a for a, t in MODELS.aliases().items() if MODELS.get(t).backend in CAPTIONER_BACKENDS]
    )
    return {
        "presets": _choices(PRESETS.names()),
        "training": _choices(TRAINING.names()),
        "captioners": ", ".join(captioners),
        "captioning": _choices(benchmarks_of("captioning")),
        "reward_benchmarks": ", ".join(benchmarks_of("reward")),
    }


NAMES = _help_names()

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


@app.command()
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


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes, from click and from the copy typer may carry."""
    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            mod = __import__(module, fromlist=["UsageError", "Abort"])
        except ImportError:
            continue
        usage.extend(c for c in (getattr(mod, "UsageError", None),) if c)
        aborts.extend(c for c in (getattr(mod, "Abort", None),) if c)
    return tuple(usage), tuple(aborts)


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
    usage_errors, aborts = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except usage_errors as exc:  # an option mistake: one line, as every other mistake
        if _debug():
            raise
        where = (
            f"rewardkit {exc.ctx.command_path.split(' ', 1)[-1]} --help" if exc.ctx else "rewardkit --help"
        )
        if exc.ctx and exc.ctx.command_path.count(" ") == 0:
            where = "rewardkit --help"
        err_console.print(
            f"[bold red]error:[/] {_one_line(exc.format_message())} (see {where})",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except (Interrupted, KeyboardInterrupt, *aborts) as exc:
        # SIGTERM unwinds like Ctrl-C (rows flushed, lock released) and exits 143 = 128 + SIGTERM
        term = isinstance(exc, Interrupted) and exc.signum == signal.SIGTERM
        err_console.print(
            ("terminated (SIGTERM)" if term else "interrupted")
            + " (rows already written are kept; rerun with --resume)"
        )
        # Every finally block has run; skip finalisers, which can wait forever on a lock the signal
        # interrupted (pycocoevalcap's METEOR wrapper does, in __del__).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(143 if term else 130)
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
    if isinstance(code, int) and code:
        sys.exit(code)

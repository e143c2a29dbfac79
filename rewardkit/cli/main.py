"""The ``rewardkit`` command."""

from __future__ import annotations

import sys

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
def models() -> None:
    """List the named models and presets (checkpoints, what they compute, approximate size)."""
    from rich.markup import escape
    from rich.table import Table

    from rewardkit.registry import MODELS, PRESETS

    console = Console()
    table = Table(title="models")
    for col in ("name", "backend", "checkpoint", "computes", "size"):
        table.add_column(col)
    for name in MODELS:
        m = MODELS.get(name)
        ckpt = m.checkpoint + (f" / {m.pretrained}" if m.pretrained else "")
        table.add_row(m.name, m.backend, ckpt, m.computes, m.size)
    console.print(table)
    presets = Table(title="presets")
    for col in ("name", "components (weight x reward[model])", "evaluator", "description"):
        presets.add_column(col)
    for name in PRESETS:
        p = PRESETS.get(name)
        comps = ", ".join(
            f"{-1 if c.weight is None else c.weight:g}x{c.reward}" + (f"[{c.model}]" if c.model else "")
            for c in p.components
        )
        presets.add_row(p.name, escape(comps), p.evaluator or "-", escape(p.description))
    console.print(presets)
    console.print("A preset file (.yaml/.json) can be passed wherever a preset name goes; see README.")


def main() -> None:
    """Entry point: runs the app and turns user mistakes into one line and exit code 2."""
    try:
        app()
    except RewardkitError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)

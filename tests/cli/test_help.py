"""Help texts: flags read as flags, choice lists generated from the registries."""

from __future__ import annotations

import click
import typer
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.registry import BENCHMARKS, TRAINING

runner = CliRunner()


def _commands(group: click.Command, path: tuple[str, ...] = ()):
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_no_help_shows_a_bool_placeholder_and_flags_read_as_flags():
    root = typer.main.get_command(app)
    seen = 0
    for path, _ in _commands(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output, path
        seen += 1
    assert seen >= 10
    out = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "--steps" in out and "<int>" in out  # options that take values still show their type


def test_debug_is_listed_in_the_root_help():
    out = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--debug" in out and "RK_DEBUG" in out


def test_train_help_names_checkpoints_and_every_trainable_preset():
    out = " ".join(runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "checkpoints/" in out and "checkpoint/," not in out
    for name in TRAINING:
        assert name in out, name


def test_bench_help_names_every_benchmark_and_captioner():
    out = " ".join(runner.invoke(app, ["bench", "--help"], env={"COLUMNS": "400"}).output.split())
    for name in BENCHMARKS:
        assert name in out, name
    for name in ("toy-a2c", "toy-hard-sft", "vlrm-rs"):
        assert name in out

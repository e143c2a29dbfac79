"""``rewardkit list`` from the registries, help texts generated and flags shown as flags, names wrap not cut."""

from __future__ import annotations

import json

import click
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.registry import BENCHMARKS, MODELS, PRESETS, TIERS, TRAINING
from tests.reliability.conftest import cli

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


@pytest.mark.parametrize(
    "what", ["models", "presets", "rewards", "backends", "benchmarks", "tiers", "training", "value-heads"]
)
def test_list_json_is_generated_from_the_registry(what):
    result = runner.invoke(app, ["list", what, "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    key = "preset" if what == "training" else "name"
    registry = {
        "models": MODELS,
        "presets": PRESETS,
        "benchmarks": BENCHMARKS,
        "tiers": TIERS,
        "training": TRAINING,
    }
    if what in registry:
        assert sorted(r[key] for r in rows) == registry[what].names()


def test_list_benchmarks_and_tiers_print_every_entry():
    out = runner.invoke(app, ["list", "benchmarks"]).output
    for name in BENCHMARKS:
        assert name in out
    for kind in ("captioning", "correlation", "pairwise", "hack"):
        assert kind in out
    out = runner.invoke(app, ["list", "tiers"]).output
    assert "toy-hard" in out and "rewardkit.toy.hard" in out and "toy-hard-sft" in out
    r = cli("list", "tier")
    assert r.code == 2 and "(did you mean 'tiers'?)" in r.error_line()


def test_models_stays_an_alias_with_its_json():
    data = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert {m["name"] for m in data["models"]} == set(MODELS)
    assert data["aliases"]["toy-sft"] == "toy-captioner"
    assert {p["name"] for p in data["presets"]} == set(PRESETS)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_terminal_of_any_width_shows_whole_names(width):
    from rewardkit.cli.catalogue import render

    console = Console(width=width, force_terminal=True, record=True, color_system=None)
    render(["models", "presets"], console)
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    lines = text.splitlines()
    for name in MODELS:
        # the name column is wide enough for every name on one line at 80 columns and more
        if width >= 80:
            assert any(f" {name} " in line for line in lines), name


def test_toy_train_models_never_writes_into_the_package(tmp_path):
    from rewardkit.registry import TOY_WEIGHTS

    r = cli("toy", "train-models")
    assert r.code == 2 and "needs --out" in r.error_line()
    r = cli("toy", "train-models", "--out", TOY_WEIGHTS, "--only", "clip")
    assert r.code == 2 and "inside the installed rewardkit package" in r.error_line()


def test_preset_component_errors_name_the_component(tmp_path):
    r = cli("bench", "--reward", "toy:itx", "--benchmark", "toy-foil", "--out", tmp_path, "-q")
    assert r.code == 2
    line = r.error_line()
    assert "preset 'toy' has no component 'itx'" in line and "itm, itc, ref, bad, repeat, noeos" in line

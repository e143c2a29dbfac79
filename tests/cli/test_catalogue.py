"""``rewardkit list`` from the registries, help texts generated and flags shown as flags, names wrap not cut."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.registry import BENCHMARKS, MODELS, PRESETS, TIERS, TRAINING
from tests.reliability.conftest import cli

runner = CliRunner()


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

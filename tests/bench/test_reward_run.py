"""`rewardkit bench --reward`: the toy probes offline, the hackability measure by hand, the leaderboard's reward tables."""

import csv
import json
import random

from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.toy import scenes as sc
from rewardkit.toy.probes import FOIL_ATTRIBUTES, foil_scene, toy_pairs


def test_a_foil_changes_exactly_its_attribute():
    rng = random.Random(0)
    for scene in sc.distinct_scenes(60, 5):
        for attribute in FOIL_ATTRIBUTES:
            foil = foil_scene(scene, attribute, rng)
            assert sc.full(foil) != sc.full(scene)
            if attribute == "background":
                assert foil.objects == scene.objects and foil.background != scene.background
                continue
            changed = [(a, b) for a, b in zip(scene.objects, foil.objects) if a != b]
            assert len(changed) == 1 and foil.background == scene.background
            a, b = changed[0]
            diff = {f for f in ("shape", "color", "size", "position") if getattr(a, f) != getattr(b, f)}
            assert diff == {attribute}
            if attribute == "position":  # moved to a free quadrant: still one object per quadrant
                assert len({o.position for o in foil.objects}) == len(foil.objects)


def test_detail_pairs_differ_by_one_detail_kind():
    for p in toy_pairs(40, 7):
        assert p.a != p.b and p.category in sc.DETAILS and p.prefer_a
        assert len(p.b) < len(p.a)


def test_toy_rewards_offline_into_the_leaderboard(tmp_path):
    runner = CliRunner()
    res = tmp_path / "results"
    r = runner.invoke(
        app, ["bench", "--reward", "toy", "--benchmark", "toy-foil", "--limit", "4", "--out", str(res), "-q"]
    )
    assert r.exit_code == 0, r.output
    rec = json.loads((res / "toy__toy-foil.json").read_text())
    assert rec["kind"] == "reward" and rec["n"] == 4 * len(FOIL_ATTRIBUTES)
    assert set(rec["metrics"]["per_category"]) == set(FOIL_ATTRIBUTES)
    assert 0 <= rec["metrics"]["accuracy"] <= 100
    r = runner.invoke(
        app,
        ["bench", "--reward", "toy:itc", "--benchmark", "toy-hack", "--limit", "2", "--out", str(res), "-q"],
    )
    assert r.exit_code == 0, r.output
    hack = json.loads((res / "toy_itc__toy-hack.json").read_text())
    assert hack["model"] == "toy:itc" and hack["config"]["component"] == "itc"
    assert {p["kind"] for p in hack["metrics"]["phrases"]} == {"bad phrase", "filler", "repeat", "generic"}
    r = runner.invoke(app, ["leaderboard", "build", "--results", str(res), "--out", str(tmp_path / "site")])
    assert r.exit_code == 0, r.output
    readme = (tmp_path / "site" / "README.md").read_text()
    assert "# Reward models" in readme and "## toy-foil" in readme and "## toy-hack" in readme
    assert "PAC-S (ViT-B/32)" in readme and "CLIP-S (ViT-B/32)" in readme  # reported rows beside measured
    rows = list(csv.DictReader((tmp_path / "site" / "rewards.csv").open()))
    assert {r["reward"] for r in rows} >= {"toy", "toy:itc", "RefCLIP-S (ViT-B/32)"}
    assert "toy-foil" not in (tmp_path / "site" / "results.csv").read_text()  # captioner table stays apart
    page = (tmp_path / "site" / "index.html").read_text()
    assert 'data-benchmark="reward-toy-hack"' in page


def test_reward_cli_errors_are_one_line(tmp_path):
    from tests.reliability.conftest import cli

    r = cli("bench", "--reward", "toy", "--model", "toy-sft", "--benchmark", "toy-foil")
    assert r.code == 2 and "exactly one of --model" in r.error_line()
    r = cli("bench", "--reward", "toy", "--benchmark", "toy-fool", "--out", tmp_path)
    assert r.code == 2 and "did you mean 'toy-foil'" in r.error_line()
    r = cli("bench", "--reward", "toy", "--benchmark", "toy-foil", "--prompt", "x")
    assert r.code == 2 and "--prompt" in r.error_line()

"""The shipped toy-hard models: loaders, presets, quality bars on the compositional split, bench and train."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.presets import build_evaluator, build_reward
from rewardkit.registry import MODELS, TIERS, TOY_HARD_WEIGHTS, TOY_WEIGHTS
from rewardkit.toy import hard as h
from rewardkit.toy import quality as q
from rewardkit.toy.evaluation import eval_set

TIER = TIERS.get("toy-hard")

SCENES = eval_set(TIER, 200, 4242)[0]  # compositional split; the data card measures seed 1000


def test_weights_are_shipped_small_and_safetensors():
    files = [p for root in (TOY_WEIGHTS, TOY_HARD_WEIGHTS) for p in root.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 60 * 2**20  # both tiers together
    weights = [p for p in files if p.suffix in (".safetensors", ".bin", ".pt", ".pth")]
    assert weights and all(p.suffix == ".safetensors" for p in weights)
    for name in ("toy-hard-clip", "toy-hard-itm", "toy-hard-opt", "toy-hard-sft"):
        assert Path(MODELS.get(name).checkpoint.removeprefix("local-dir:")).is_dir(), name


@pytest.mark.parametrize(
    ("preset", "components"),
    [
        ("toy-hard", {"itm", "itc", "ref", "bad", "repeat", "noeos"}),
        ("toy-hard-rs", {"itm", "phi", "bad", "repeat", "noeos"}),
        ("toy-hard-esper", {"clip"}),
    ],
)
def test_presets_load_offline_and_prefer_the_full_description(preset, components):
    reward = build_reward(preset, device="cpu")
    scenes = SCENES[:16]
    images = [h.render(s) for s in scenes]
    full = reward.score_components([h.full(s) for s in scenes], images=images)
    terse = reward.score_components([h.terse(s) for s in scenes], images=images)
    assert set(full) == components | {"total"}
    if "repeat" in full:
        assert all(v == 0 for v in full["repeat"])  # attribute words repeat legitimately
    assert sum(full["total"]) > sum(terse["total"])
    assert "weights-hard/clip" in build_evaluator(preset, device="cpu").model_id


def test_evaluator_meets_its_bar_and_the_judge_is_another_model():
    # the continued CLIP: 0.915 / 0.012 on 1,000 scenes of seed 1000 (bar 0.90), 0.910 / 0.012 on these;
    # the held-out judge 0.560 (seed 1000) and 0.527 here: weaker, and not a copy of the reward CLIP
    scenes = eval_set(TIER, 1000, 4242)[0]
    res = q.measure_clip(scenes, TIER)
    assert res["clip_r1_full"] >= 0.90 and res["clip_r1_terse"] <= 0.10, res
    judge = q.measure_clip(scenes, TIER, None, "judge")
    assert 0.45 <= judge["clip_r1_full"] < res["clip_r1_full"] and judge["clip_r1_terse"] <= 0.10, judge


def test_itm_and_ref_on_the_compositional_split():
    # the continued ITM: 0.830 on 1,000 scenes of seed 1000 and 0.830 on these 200 (bar 0.90, not met;
    # 0.712 before the continuation); ref 1.000 (bar 0.95, met)
    assert q.measure_itm(SCENES, 1, TIER)["itm_prefers_true"] >= 0.78
    assert q.measure_ref(SCENES, 1, TIER)["ref_prefers_grammatical"] >= 0.95


@pytest.mark.slow
def test_quality_command_hard_tier(tmp_path):
    out = tmp_path / "q.json"
    result = CliRunner().invoke(
        app, ["toy", "quality", "--tier", "hard", "--n", "150", "--seed", "77", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    res = json.loads(out.read_text())
    assert res["overlap"]["any"] == 0.0 and res["overlap"]["n_unseen"] == 150
    per_1000 = {"clip_r1_terse", "captioner_beam_r1"}
    for key, (op, bar) in q.HARD_BARS.items():  # each verdict follows from the measured value
        value = res[key]
        holds = value >= bar if op == ">=" else value <= bar
        assert res["passed"][key] is holds, key
    # the bars met on 1,000 scenes (data card), with a margin for 150 scenes
    for key in ("ref_prefers_grammatical", "captioner_beam_grammatical", "captioner_sample_detail_share"):
        op, bar = q.HARD_BARS[key]
        assert res[key] >= bar - 0.1, (key, res[key])
    assert res["captioner_detail_correct_background"] >= 0.8
    assert not per_1000 - set(res)


@pytest.mark.slow
def test_bench_toy_hard_reports_zero_overlap(tmp_path):
    result = CliRunner().invoke(
        app,
        ["bench", "--model", "toy-hard-sft", "--limit", "12", "--out", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    rec = json.loads((tmp_path / "toy-hard-sft__toy-hard.json").read_text())
    assert rec["benchmark"] == "toy-hard" and rec["n"] == 12
    assert rec["overlap"]["any"] == 0.0
    assert 0 <= rec["metrics"]["clip_recall"]["R@1"] <= 1


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["toy-hard", "toy-hard-rs", "toy-hard-esper"])
def test_train_each_preset_two_steps(tmp_path, preset):
    from dataclasses import replace

    from rewardkit.train.a2c import A2CTrainer
    from rewardkit.train.config import load_config

    cfg = load_config(preset, None, steps=2)
    assert cfg.data == "toy-hard" and cfg.policy == "toy-hard-sft"
    cfg = replace(cfg, captions_per_step=8, micro_batch=8, probe_every=2, probe_size=8)
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda m: None)
    history = trainer.train(2)
    assert len(history) == 2 and 0.0 <= history[-1]["probe_R@1"] <= 1.0
    wanted = {"toy-hard": "ref_mean", "toy-hard-rs": "phi_mean", "toy-hard-esper": "clip_mean"}[preset]
    assert wanted in history[-1] and history[-1][wanted] == history[-1][wanted]  # measured, not NaN

"""The shipped toy models: they load through the public loaders and hold their quality bars (fast version)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.presets import build_evaluator, build_reward
from rewardkit.registry import MODELS, TIERS, TOY_WEIGHTS
from rewardkit.toy import quality as q
from rewardkit.toy import scenes as sc
from rewardkit.toy.evaluation import eval_set, evaluator

TIER = TIERS.get("toy")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "toy"
SCENES = eval_set(TIER, 200, 4242)[0]  # fresh scenes: training used seeds 0-2, the data card 1000


def test_weights_are_shipped_small_and_safetensors():
    files = [p for p in TOY_WEIGHTS.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 40 * 2**20
    weights = [p for p in files if p.suffix in (".safetensors", ".bin", ".pt", ".pth")]
    assert weights and all(p.suffix == ".safetensors" for p in weights)
    for name in ("toy-clip", "toy-itm", "toy-opt", "toy-captioner"):
        assert Path(MODELS.get(name).checkpoint.removeprefix("local-dir:")).is_dir(), name


def test_toy_preset_loads_through_the_public_loaders():
    reward = build_reward("toy", device="cpu")
    images = [sc.render(s) for s in SCENES[:4]]
    out = reward.score_components([sc.full(s) for s in SCENES[:4]], images=images)
    assert set(out) == {"itm", "itc", "ref", "bad", "repeat", "noeos", "total"}
    assert all(v == 0 for v in out["repeat"])  # attribute words repeat legitimately in the toy world
    assert build_evaluator("toy", device="cpu").model_id.startswith("open_clip:local-dir:")


# Bars of the toy-world issue, asserted as such (on fewer scenes, so with some margin where the
# sample is small; data_cards/toy-world.md has the 1,000-scene values).


def test_toy_clip_bars():
    res = q.measure_clip(eval_set(TIER, 1000, 4242)[0], TIER)  # recall bars are defined on 1,000 scenes
    assert res["clip_r1_terse"] <= 0.10, res
    assert res["clip_r1_full"] >= 0.95, res


def test_toy_itm_prefers_the_true_description():
    assert q.measure_itm(SCENES, 1, TIER)["itm_prefers_true"] >= 0.95


def test_toy_ref_prefers_grammatical_text():
    assert q.measure_ref(SCENES, 1, TIER)["ref_prefers_grammatical"] >= 0.95


def test_toy_captioner_is_terse_under_beam_and_detailed_when_sampled():
    res = q.measure_captioner(SCENES, 1, TIER)
    assert res["captioner_beam_grammatical"] >= 0.95 and res["captioner_beam_r1"] <= 0.15, res
    assert res["captioner_sample_detail_share"] >= 0.25, res
    assert res["captioner_beam_main_correct"] >= 0.6, res
    # terse beam captions state few facts; samples add detail, so they state more of the scene's facts
    assert res["captioner_beam_claim_recall"] < 0.4 < res["captioner_beam_claim_precision"], res
    assert res["captioner_sample_claim_recall"] > res["captioner_beam_claim_recall"], res
    for kind in sc.DETAILS:  # bar 0.6 (met on 1,000 scenes); ~40 stated claims per kind here, so 0.5
        assert res[f"captioner_detail_correct_{kind}"] >= 0.5, (kind, res)


def test_score_the_example_set_offline(tmp_path):
    out = tmp_path / "full.jsonl"
    result = CliRunner().invoke(
        app, ["score", str(EXAMPLES / "captions.jsonl"), "--preset", "toy", "-o", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    full = json.loads((tmp_path / "full.summary.json").read_text())
    out_t = tmp_path / "terse.jsonl"
    result = CliRunner().invoke(
        app, ["score", str(EXAMPLES / "terse.jsonl"), "--preset", "toy", "-o", str(out_t), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    terse = json.loads((tmp_path / "terse.summary.json").read_text())
    assert full["n_scored"] == terse["n_scored"] == 40
    assert full["clip_recall"]["R@1"] > terse["clip_recall"]["R@1"] + 0.3
    assert full["components"]["itm"]["mean"] > terse["components"]["itm"]["mean"]


def test_a2c_policy_retrieves_far_better_than_sft_and_stays_grammatical():
    # a fast version of the micro-VLRM bar (benchmarks/toy_a2c.py: 1,000 scenes)
    from rewardkit.backends.blip2_captioner import Blip2Captioner
    from rewardkit.bench.benchmarks import get_benchmark

    images = [sc.render(s) for s in SCENES[:100]]
    clip = evaluator(TIER)
    decoding = get_benchmark("toy").generation
    r1 = {}
    for name in ("toy-captioner", "toy-a2c"):
        caps = Blip2Captioner(MODELS.get(name).checkpoint, device="cpu", batch_size=50).caption(
            images, **decoding
        )
        assert sum(map(sc.is_grammatical, caps)) >= 95, caps
        r1[name] = q.toy_clip_recall(caps, images, clip)["R@1"]
    assert r1["toy-a2c"] >= 0.7 and r1["toy-a2c"] > r1["toy-captioner"] + 0.3, r1


@pytest.mark.slow
def test_quality_command_writes_every_bar(tmp_path):
    out = tmp_path / "q.json"
    result = CliRunner().invoke(
        app, ["toy", "quality", "--n", "100", "--seed", "77", "--out", str(out), "--no-unseen"]
    )
    assert result.exit_code == 0, result.output
    res = json.loads(out.read_text())
    # Recall bars of the "at most" kind (terse captions must not retrieve) are defined on 1,000 scenes:
    # among 100 candidates chance alone is 10x higher, so here only their reporting is checked.
    per_1000 = {"clip_r1_terse", "captioner_beam_r1"}
    for key, (op, bar) in q.BARS.items():  # each bar, checked here from the measured value
        value = res[key]
        holds = value >= bar if op == ">=" else value <= bar
        assert res["passed"][key] is holds, key
        if key not in per_1000:
            assert holds, (key, value, op, bar)

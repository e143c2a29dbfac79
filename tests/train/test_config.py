"""Training defaults per preset from the registry (no silent fallback), and --policy must be a captioner."""

from __future__ import annotations

import json

import pytest

from rewardkit.errors import RewardkitError
from rewardkit.registry import MODELS
from rewardkit.train.config import TOY, TOY_HARD, VLRM, check_policy, load_config
from tests.reliability.conftest import cli


@pytest.mark.parametrize(
    ("preset", "family"),
    [
        ("toy", TOY),
        ("toy-esper", TOY),
        ("toy-hard", TOY_HARD),
        ("toy-hard-rs", TOY_HARD),
        ("toy-hard-esper", TOY_HARD),
        ("vlrm-rs", VLRM),
    ],
)
def test_each_trainable_preset_starts_from_its_family(preset, family):
    cfg = load_config(preset)
    assert cfg.preset == preset
    for key in ("policy", "data", "steps", "captions_per_step", "samples_per_image", "lr", "max_new_tokens"):
        assert getattr(cfg, key) == getattr(family, key), key


def test_toy_esper_trains_with_toy_sized_settings_not_blip2():
    cfg = load_config("toy-esper")
    assert cfg.policy == "toy-captioner" and cfg.data == "toy" and cfg.captions_per_step == 64


def test_a_preset_without_defaults_is_one_line_listing_those_with_defaults(tmp_path):
    with pytest.raises(RewardkitError, match="preset 'clipscore' has no training defaults") as err:
        load_config("clipscore")
    assert "toy-esper" in str(err.value) and "toy-hard-rs" in str(err.value)
    run = cli("train", "--preset", "clipscore", "--out", tmp_path / "run", "-q")
    assert run.code == 2 and "presets with defaults: esper, toy, toy-esper" in run.error_line()
    assert not (tmp_path / "run").exists()


def test_a_preset_file_trains_through_a_family_and_the_config(tmp_path, preset_file):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"preset": str(preset_file)}))
    cfg = load_config("toy", config)
    assert cfg.preset == str(preset_file) and cfg.policy == TOY.policy
    with pytest.raises(RewardkitError, match="has no training defaults"):
        load_config(str(preset_file))


def test_yaml_exponent_numbers_get_the_hint(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("lr: 1e-5\n")
    run = cli("train", "--preset", "toy", "--config", config, "--out", tmp_path / "run", "-q")
    assert run.code == 2
    line = run.error_line()
    assert "lr must be a finite number, not '1e-5'" in line and "1.0e-5" in line


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ("toy-itm", "--policy toy-itm is not a captioner (backend blip2_itm"),
        ("toy-clip", "--policy toy-clip is not a captioner (backend open_clip"),
    ],
)
def test_a_registered_model_that_is_not_a_captioner_is_refused(policy, says, tmp_path):
    run = cli("train", "--preset", "toy", "--policy", policy, "--out", tmp_path / "run", "-q")
    assert run.code == 2
    line = run.error_line()
    assert says in line and "toy-captioner" in line


def test_folders_of_other_models_are_named(blip2_itm_dir, open_clip_dir, captioner_dir, tmp_path):
    with pytest.raises(
        RewardkitError, match="is a Blip2ForImageTextRetrieval model .*not a BLIP-2 captioner"
    ):
        check_policy(str(blip2_itm_dir))
    with pytest.raises(RewardkitError, match="is an open_clip CLIP model folder"):
        check_policy(str(open_clip_dir))
    with pytest.raises(RewardkitError, match="is an open_clip CLIP model folder"):
        check_policy(f"local-dir:{open_clip_dir}")
    assert check_policy(str(captioner_dir)) == str(captioner_dir)
    assert check_policy("toy-captioner") == MODELS.get("toy-captioner").checkpoint
    run_dir = tmp_path / "run"
    (run_dir / "policy").mkdir(parents=True)
    (run_dir / "policy" / "config.json").write_text("{}")
    with pytest.raises(RewardkitError, match="is a training run folder; its captioner is"):
        check_policy(str(run_dir))


def test_missing_weights_in_the_load_report_are_refused():
    from rewardkit.train.config import check_load_report

    check_load_report("p", {"missing_keys": []})
    with pytest.raises(RewardkitError, match="lack 2 tensors of a BLIP-2 captioner"):
        check_load_report("p", {"missing_keys": ["language_model.lm_head.weight", "qformer.x"]})

"""Resume only the same run (config and model identities, not install paths); divergence stops cleanly."""

from __future__ import annotations

import json
import shutil

import pytest

from rewardkit.train.checkpoint import CheckpointError, check_resume, complete_checkpoints
from rewardkit.train.config import load_config, run_setup
from tests.reliability.conftest import cli


def _config(tmp_path, base, name="c.json", **changes):
    cfg = {**json.loads(base.read_text()), **changes}
    path = tmp_path / name
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def run_of_two_steps(tmp_path_factory, train_config_file):
    out = tmp_path_factory.mktemp("resume") / "run"
    r = cli("train", "--preset", "toy", "--config", train_config_file, "--steps", "2", "--out", out, "-q")
    assert r.code == 0, r.stderr
    return out


@pytest.mark.parametrize(
    ("change", "where"),
    [({"lr": 1e-3}, "lr"), ({"gamma": 0.5}, "gamma"), ({"samples_per_image": 4}, "samples_per_image")],
)
def test_resume_with_another_setting_is_refused_naming_it(
    run_of_two_steps, train_config_file, tmp_path, change, where
):
    config = _config(tmp_path, train_config_file, **change)
    before = sorted(p.name for p in complete_checkpoints(run_of_two_steps))
    r = cli(
        "train",
        "--preset",
        "toy",
        "--config",
        config,
        "--steps",
        "4",
        "--out",
        run_of_two_steps,
        "--resume",
        "-q",
    )
    assert r.code == 2
    line = r.error_line()
    assert f"the config differs at {where}" in line and "a resume may change only steps" in line, line
    assert sorted(p.name for p in complete_checkpoints(run_of_two_steps)) == before


def test_steps_logging_and_output_settings_may_change(run_of_two_steps, train_config_file):
    folder = complete_checkpoints(run_of_two_steps)[0]
    cfg = load_config("toy", train_config_file, steps=10, probe_every=5, checkpoint_every=3)
    check_resume(folder, cfg.to_dict(), run_setup(cfg))  # no error


def test_the_checkpoint_records_identities_not_install_paths(run_of_two_steps, tiny_dir):
    setup = json.loads((complete_checkpoints(run_of_two_steps)[0] / "setup.json").read_text())
    assert str(tiny_dir) not in json.dumps(setup)
    assert set(setup["reward"]) >= {"itm", "ref", "phi"}
    assert len(setup["policy"]["checkpoint_sha256"]) == 64


def test_the_same_models_from_another_folder_resume(
    run_of_two_steps, train_config_file, preset_file, tmp_path
):
    """Another checkout or environment: same weights, other paths (the toy models pinned by path were refused)."""
    moved = tmp_path / "elsewhere"
    spec = json.loads(preset_file.read_text())
    for name, m in spec["models"].items():
        prefix = "local-dir:" if m["checkpoint"].startswith("local-dir:") else ""
        shutil.copytree(m["checkpoint"][len(prefix) :], moved / name)
        m["checkpoint"] = prefix + str(moved / name)
    new_preset = moved / "preset.json"
    new_preset.write_text(json.dumps(spec))
    cfg0 = json.loads(train_config_file.read_text())
    captioner = moved / "captioner"
    shutil.copytree(cfg0["policy"], captioner)
    config = _config(tmp_path, train_config_file, policy=str(captioner), preset=str(new_preset))
    cfg = load_config("toy", config)
    check_resume(complete_checkpoints(run_of_two_steps)[0], cfg.to_dict(), run_setup(cfg))
    # ... but other weights at the same place are another model
    (captioner / "extra.bin").write_bytes(b"changed")
    with pytest.raises(
        CheckpointError, match="setup \\(policy and reward models\\) differs at policy.checkpoint_sha256"
    ):
        check_resume(complete_checkpoints(run_of_two_steps)[0], cfg.to_dict(), run_setup(cfg))


def test_registered_toy_models_are_identified_by_their_weights_not_their_folder(tmp_path):
    from dataclasses import replace

    from rewardkit.presets import model_identity
    from rewardkit.registry import MODELS

    spec = MODELS.get("toy-itm")
    copy = tmp_path / "itm"
    shutil.copytree(spec.checkpoint, copy)
    assert model_identity(replace(spec, checkpoint=str(copy))) == model_identity(spec)
    clip = MODELS.get("toy-clip")
    shutil.copytree(clip.checkpoint[len("local-dir:") :], tmp_path / "clip")
    assert model_identity(replace(clip, checkpoint=f"local-dir:{tmp_path / 'clip'}")) == model_identity(clip)
    assert "/" not in json.dumps(model_identity(clip))


def test_divergence_ends_in_one_line_and_keeps_the_last_good_checkpoint(train_config_file, tmp_path):
    config = _config(tmp_path, train_config_file, lr=1e6, checkpoint_every=1, warmup_steps=0)
    out = tmp_path / "run"
    r = cli("train", "--preset", "toy", "--config", config, "--steps", "6", "--out", out, "-q")
    assert r.code == 2
    line = r.error_line()
    assert line.startswith("error: training diverged at step ") and "lower lr (now 1e+06)" in line, line
    step = int(line.split("at step ")[1].split()[0])
    names = [p.name for p in complete_checkpoints(out)]
    assert f"step-{step:08d}" not in names
    if step > 1:
        assert names[0] == f"step-{step - 1:08d}" and f"{names[0]}, is kept" in line
    logged = (
        [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
        if (out / "metrics.jsonl").exists()
        else []
    )
    assert all(s <= step for s in logged)  # nothing logged past the step that diverged

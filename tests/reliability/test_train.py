"""``rewardkit train``: config mistakes in one line, crash-safe checkpoints (a kill at every point of a save), robust resume."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from rewardkit.train.a2c import A2CTrainer
from rewardkit.train.config import load_config
from tests.reliability.conftest import cli


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"lr": "fast"}, "lr must be a finite number, not 'fast'"),
        ({"trainable": 5}, "trainable must be a non-empty list of names, not 5"),
        ({"captions_per_step": "8"}, "captions_per_step must be an integer, not '8'"),
        ({"micro_batch": 0}, "micro_batch must be an integer >= 1, not 0"),
        ({"gamma": 1.5}, "gamma must be a number in [0, 1], not 1.5"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"group_baseline": "yes"}, "group_baseline must be true or false"),
        ({"reward_weights": {"bad": "x"}}, "reward_weights must be a mapping"),
        ({"policy_objective": "ppo"}, "policy_objective must be 'prob' or 'logprob'"),
        ({"micro_bach": 4}, "unknown key 'micro_bach' (did you mean 'micro_batch'?)"),
        ({"preset": "vlmr"}, "did you mean"),
        ({"captions_per_step": 6, "samples_per_image": 4}, "must be a multiple of samples_per_image"),
    ],
)
def test_config_mistakes_are_one_line_naming_file_and_key(tmp_path, setting, says):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"policy": "toy-captioner", **setting}))
    run = cli("train", "--preset", "toy", "--config", config, "--out", tmp_path / "run", "-q")
    assert run.code == 2
    line = run.error_line()
    assert says in line, line
    if "preset" not in setting:
        assert str(config) in line


def _trainer(config_file, out):
    return A2CTrainer(load_config("toy", config_file), out, log=lambda s: None)


def _trainable(trainer):
    return {n: p.detach().clone() for n, p in trainer.core.named_parameters() if p.requires_grad}


class Crash(BaseException):
    """A kill: nothing after it runs, no cleanup."""


def test_a_kill_at_every_point_of_a_save_leaves_a_usable_checkpoint(train_config_file, tmp_path, monkeypatch):
    base = tmp_path / "base"
    trainer = _trainer(train_config_file, base)
    trainer.train(2)  # checkpoint_every = 2: step-00000002 is complete
    at_two = _trainable(trainer)
    for _ in range(2):
        trainer.step()
    at_four = _trainable(trainer)
    loader = _trainer(train_config_file, tmp_path / "unused")

    ops = {"n": 0, "crash_at": None}

    def counted(fn):
        def wrapper(*args, **kwargs):
            ops["n"] += 1
            if ops["crash_at"] is not None and ops["n"] == ops["crash_at"]:
                raise Crash
            return fn(*args, **kwargs)

        return wrapper

    import pathlib

    import safetensors.torch

    for mod, name in [
        (os, "replace"),
        (os, "fsync"),
        (shutil, "rmtree"),
        (safetensors.torch, "save_file"),
        (torch, "save"),
        (pathlib.Path, "write_text"),
        (pathlib.Path, "mkdir"),
    ]:
        monkeypatch.setattr(mod, name, counted(getattr(mod, name)))

    # count the operations of one complete save
    trainer.out = tmp_path / "count"
    shutil.copytree(base, trainer.out)
    ops["n"] = 0
    trainer.save()
    total = ops["n"]
    assert total >= 10
    seen = set()
    for k in range(1, total + 1):
        run = tmp_path / f"kill{k}"
        shutil.copytree(base, run)
        trainer.out = run
        ops["n"], ops["crash_at"] = 0, k
        with pytest.raises(Crash):
            trainer.save()
        ops["crash_at"] = None
        loader.out = run
        folder = loader.load()
        assert folder is not None, f"no checkpoint after a kill at operation {k}"
        expected = {2: at_two, 4: at_four}[loader.step_index]
        seen.add(loader.step_index)
        for n, p in loader.core.named_parameters():
            if p.requires_grad:
                assert torch.equal(p, expected[n]), (k, n)
    assert seen == {2, 4}  # early kills keep the old checkpoint, late ones already have the new one


def test_resume_falls_back_past_corrupt_files_and_drops_a_torn_metrics_line(train_config_file, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--preset", "toy", "--config", train_config_file, "--out", out, "-q"]
    assert cli(*args, "--steps", 4).code == 0
    newest = out / "checkpoints" / "step-00000004"
    (newest / "trainable.safetensors").write_bytes(b"\x00" * 100)
    with open(out / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 5, "loss_pol')
    run = cli(*args, "--steps", 5, "--resume")
    assert run.code == 0, run.stderr
    assert "skipped a damaged checkpoint" in run.stderr and "step-00000002" in run.stderr
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("damage", ["empty", "safetensors", "state", "pointer"])
def test_resume_without_any_usable_checkpoint_is_one_line(train_config_file, tmp_path, damage):
    out = tmp_path / "run"
    args = ["train", "--preset", "toy", "--config", train_config_file, "--out", out, "-q"]
    assert cli(*args, "--steps", 2).code == 0
    only = out / "checkpoints" / "step-00000002"
    if damage == "empty":
        shutil.rmtree(out / "checkpoints")
        (out / "checkpoints").mkdir()
    elif damage == "safetensors":
        (only / "trainable.safetensors").write_bytes(b"\x00" * 10)
    elif damage == "state":
        (only / "state.pt").write_bytes(b"not a zip file")
    else:  # the pointer is garbage but the folder is fine: it is found anyway
        (out / "checkpoints" / "LATEST").write_text("step-99999999")
    run = cli(*args, "--steps", 3, "--resume")
    if damage == "pointer":
        assert run.code == 0, run.stderr
        return
    assert run.code == 2
    line = run.error_line()
    assert str(out) in line
    assert {
        "empty": "no complete checkpoint",
        "safetensors": "trainable.safetensors is corrupt",
        "state": "state.pt is corrupt",
    }[damage] in line

"""The A2C trainer (its step, loop, callbacks, checkpoints and CLI) on a tiny random BLIP-2 (the classes of
BLIP-2 OPT-2.7B) with a tiny reward preset."""

import json

import pytest
import torch
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.train.a2c import A2CTrainer
from rewardkit.train.config import load_config
from tests import launch


def _trainer(train_config_file, out, **kw):
    cfg = load_config("toy", train_config_file, **kw)
    return A2CTrainer(cfg, out, log=lambda s: None)


def _params(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def test_one_step_changes_exactly_the_intended_parameters(train_config_file, tmp_path):
    t = _trainer(train_config_file, tmp_path / "run")
    before = _params(t.core)
    t.step()
    after = _params(t.core)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    trainable = {n for n, p in t.core.named_parameters() if p.requires_grad}
    assert changed <= trainable
    for group in (
        "blip2.qformer.",
        "blip2.query_tokens",
        "blip2.language_projection.",
        "lora_B",
        "value_head.",
    ):
        assert any(group in n for n in changed), group
    frozen = [
        n
        for n in before
        if n.startswith("blip2.vision_model.") or ("language_model" in n and "lora_" not in n)
    ]
    assert frozen and not any(n in changed for n in frozen)


def test_checkpoint_round_trip_and_exact_resume(train_config_file, tmp_path):
    full = _trainer(train_config_file, tmp_path / "full").train(4)
    first = _trainer(train_config_file, tmp_path / "split")
    first.train(2)
    resumed = _trainer(train_config_file, tmp_path / "split")
    assert resumed.load().name == "step-00000002"
    assert resumed.step_index == 2
    saved = {n: p for n, p in first.core.named_parameters() if p.requires_grad}
    for n, p in resumed.core.named_parameters():
        if p.requires_grad:
            assert torch.equal(p, saved[n]), n
    rest = resumed.train(4)
    for a, b in zip(full[2:], rest):
        assert a["loss_policy"] == b["loss_policy"] and a["loss_value"] == b["loss_value"]
        assert a["example"] == b["example"]
    lines = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3, 4]


def test_train_command_checkpoints_and_exports_a_loadable_policy(train_config_file, tmp_path):
    from rewardkit.backends.blip2_captioner import Blip2Captioner

    out = tmp_path / "run"
    args = [
        "train",
        "--preset",
        "toy",
        "--config",
        str(train_config_file),
        "--steps",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (out / "checkpoints" / "step-00000002" / "trainable.safetensors").exists()
    assert (out / "checkpoints" / "LATEST").read_text() == "step-00000002" and (
        out / "metrics.jsonl"
    ).exists()
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "--resume" in str(again.exception)
    cont = CliRunner().invoke(app, [*args[:6], "3", *args[7:], "--resume"], catch_exceptions=False)
    assert cont.exit_code == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    cap = Blip2Captioner(str(out / "policy"), device="cpu")
    from tests.tiny_models import make_images

    assert len(cap.caption(make_images(2), max_new_tokens=5)) == 2


@pytest.mark.slow
def test_two_processes_train_on_cpu(train_config_file, tmp_path):
    out = tmp_path / "ddp"
    args = ["train", "--preset", "toy", "--config", train_config_file, "--steps", 2, "--out", out, "--quiet"]
    proc = launch.run(*args, nproc=2, port=29544)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert (out / "policy" / "config.json").exists()


def test_cuda_without_a_gpu_is_refused_not_run_on_cpu(train_config_file, tmp_path, monkeypatch):
    from rewardkit.errors import RewardkitError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RewardkitError, match="no CUDA GPU is available"):
        _trainer(train_config_file, tmp_path / "run", device="cuda")


def test_policy_dtype_sets_the_policy_weights_dtype(train_config_file, tmp_path):
    t = _trainer(train_config_file, tmp_path / "run", policy_dtype="bf16")
    assert {p.dtype for p in t.core.blip2.qformer.parameters()} == {torch.bfloat16}
    from rewardkit.errors import RewardkitError

    with pytest.raises(RewardkitError, match="policy_dtype"):
        _trainer(train_config_file, tmp_path / "run2", policy_dtype="int8")


def test_callbacks_see_every_step_and_may_add_metrics_before_they_are_written(train_config_file, tmp_path):
    t = _trainer(train_config_file, tmp_path / "run")
    seen = []

    def add(trainer, metrics):
        assert trainer is t and metrics["step"] == trainer.step_index
        metrics["doubled_step"] = 2 * metrics["step"]

    def written(trainer, metrics):
        lines = (trainer.out / "metrics.jsonl").read_text().splitlines()
        seen.append((metrics["step"], json.loads(lines[-1])["doubled_step"]))

    t.add_callback("on_step", add)
    t.add_callback("on_metrics", written)
    passed = []
    history = t.train(3, on_step=lambda m: passed.append(m["step"]))
    assert [m["doubled_step"] for m in history] == [2, 4, 6]
    assert seen == [(1, 2), (2, 4), (3, 6)] and passed == [1, 2, 3]
    with pytest.raises(ValueError, match="unknown trainer event 'on_epoch'"):
        t.add_callback("on_epoch", add)


def test_max_seconds_stops_after_the_step_and_checkpoints_it(train_config_file, tmp_path):
    t = _trainer(train_config_file, tmp_path / "run", checkpoint_every=100)
    history = t.train(10, max_seconds=0.0)
    assert len(history) == 1 and t.step_index == 1
    assert (tmp_path / "run" / "checkpoints" / "LATEST").read_text() == "step-00000001"


def test_the_train_package_imports_no_toy_or_bench_code():
    """``rewardkit.train`` reaches toy data and the toy probe only through the registry (lazy names)."""
    import ast
    from pathlib import Path

    import rewardkit

    for path in (Path(rewardkit.__file__).parent / "train").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("rewardkit.toy", "rewardkit.bench")), (path.name, name)

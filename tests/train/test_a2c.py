"""The A2C trainer on a tiny random BLIP-2 (the classes of BLIP-2 OPT-2.7B) with a tiny reward preset."""

import json

import pytest
import torch
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.functional.a2c import normalized_advantages, policy_loss, value_loss
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


def test_value_lora_does_not_change_generation(train_config_file, tmp_path):
    t = _trainer(train_config_file, tmp_path / "run")
    images = t.images.batch(0, 2)
    embeds = t.core.image_embeds(t.pixel_values(images))
    torch.manual_seed(1)
    ids_a, mask_a, _ = t.sample(embeds, 2)
    logp_a, _, vals_a = t.core(embeds.repeat_interleave(2, 0), ids_a, mask_a)
    with torch.no_grad():
        for n, p in t.core.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 1.0)
    torch.manual_seed(1)
    ids_b, mask_b, _ = t.sample(embeds, 2)
    logp_b, _, vals_b = t.core(embeds.repeat_interleave(2, 0), ids_a, mask_a)
    assert torch.equal(ids_a, ids_b)
    assert torch.allclose(logp_a, logp_b)
    assert not torch.allclose(vals_a, vals_b)  # the adapters do act on the value pass


@pytest.mark.parametrize("objective", ["prob", "logprob"])
def test_a_token_with_positive_advantage_gains_probability(train_config_file, tmp_path, objective):
    t = _trainer(train_config_file, tmp_path / "run")
    images = t.images.batch(0, 2)
    embeds = t.core.image_embeds(t.pixel_values(images))
    ids, mask, _ = t.sample(embeds, 1)
    tok_mask = mask[:, 1:].float()
    m = torch.zeros_like(tok_mask)
    m[0, 1], m[1, 0] = 1.0, -1.0
    opt = torch.optim.SGD(t.core.policy_parameters(), lr=0.5)
    logp, _, _ = t.core(embeds, ids, mask, values=False)
    policy_loss(logp, m, tok_mask, objective).backward()
    opt.step()
    with torch.no_grad():
        new, _, _ = t.core(embeds, ids, mask, values=False)
    assert new[0, 1] > logp[0, 1]
    assert new[1, 0] < logp[1, 0]


def test_advantage_normalisation_and_losses():
    a = torch.tensor([[1.0, 2.0, 9.0], [3.0, 4.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    m = normalized_advantages(a, mask)
    real = m[mask.bool()]
    assert real.mean().abs() < 1e-6 and (real.std() - 1).abs() < 1e-6 and m[0, 2] == 0
    v = torch.zeros(2, 3)
    # per caption mean over its own tokens, then the mean over captions (VLRM Eq. 2)
    assert value_loss(v, a, mask) == pytest.approx(((1 + 4) / 2 + (9 + 16 + 25) / 3) / 2)
    logp = torch.log(torch.full((2, 3), 0.5))
    assert policy_loss(logp, torch.ones(2, 3), mask, "prob") == pytest.approx(-0.5)


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

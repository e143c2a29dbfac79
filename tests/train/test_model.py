"""The trained module: adapters act on the value pass only, the policy parameters move the right way, and the
trainer's `ref` reward runs through the policy's frozen LM when the weights are the same (VLRM's OPT-2.7B from BLIP-2)."""

import json

import pytest
import torch

from rewardkit.backends.causal_lm import CausalLMBackend
from rewardkit.backends.sharing import weights_differ
from rewardkit.functional.a2c import policy_loss
from rewardkit.train.a2c import A2CTrainer
from rewardkit.train.config import load_config

CAPTIONS = ["a red circle on the left", "two blue squares", "the the the", ""]


def _lm_folder(captioner_dir, out):
    """The captioner's own language model saved as a standalone causal-LM checkpoint (as OPT-2.7B is for BLIP-2)."""
    from transformers import AutoTokenizer, Blip2ForConditionalGeneration

    blip2 = Blip2ForConditionalGeneration.from_pretrained(captioner_dir)
    blip2.language_model.save_pretrained(out)
    AutoTokenizer.from_pretrained(captioner_dir).save_pretrained(out)
    return out


def _preset(tmp_path, lm_dir):
    spec = {
        "name": "ref-only",
        "models": {"lm": {"backend": "causal_lm", "checkpoint": str(lm_dir)}},
        "components": [{"name": "ref", "reward": "ref", "model": "lm", "weight": 1.0}, {"reward": "noeos"}],
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(spec))
    return path


def _trainer(train_config_file, tmp_path, preset, **kw):
    logs = []
    cfg = load_config("toy", train_config_file, preset=str(preset), **kw)
    return A2CTrainer(cfg, tmp_path / "run", log=logs.append), logs


def _ref_backend(trainer):
    return next(c.reward.backend for c in trainer.reward.components if c.name == "ref")


def test_identical_weights_are_shared_and_score_as_a_separate_copy(
    captioner_dir, train_config_file, tmp_path
):
    lm_dir = _lm_folder(captioner_dir, tmp_path / "lm")
    t, logs = _trainer(train_config_file, tmp_path, _preset(tmp_path, lm_dir))
    backend = _ref_backend(t)
    assert backend.model is t.core.lm  # no second copy
    assert any("shares the policy's frozen language model" in line for line in logs)
    with torch.no_grad():  # adapters that act on the value pass must not reach ref
        for n, p in t.core.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 1.0)
    separate = CausalLMBackend(str(lm_dir), device="cpu")
    assert separate.model is not t.core.lm
    torch.testing.assert_close(
        backend.mean_logprob(CAPTIONS), separate.mean_logprob(CAPTIONS), rtol=0, atol=1e-6
    )
    t.step()  # a training step runs with the shared ref


def test_different_weights_are_loaded_separately(opt_dir, train_config_file, tmp_path):
    t, logs = _trainer(train_config_file, tmp_path, _preset(tmp_path, opt_dir))
    assert _ref_backend(t).model is not t.core.lm
    assert any("loaded separately" in line and ("differs" in line or "shape" in line) for line in logs), logs


def test_sharing_can_be_turned_off(captioner_dir, train_config_file, tmp_path):
    lm_dir = _lm_folder(captioner_dir, tmp_path / "lm")
    t, _ = _trainer(train_config_file, tmp_path, _preset(tmp_path, lm_dir), share_ref=False)
    assert _ref_backend(t).model is not t.core.lm


def test_weights_differ_names_the_first_difference(captioner_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    lm_dir = _lm_folder(captioner_dir, tmp_path / "lm")
    model = AutoModelForCausalLM.from_pretrained(lm_dir)
    assert weights_differ(model, str(lm_dir)) is None
    with torch.no_grad():
        model.model.decoder.final_layer_norm.bias[0] += 1e-3
    assert weights_differ(model, str(lm_dir)) == f"{lm_dir}: model.decoder.final_layer_norm.bias differs"
    assert "no local safetensors" in weights_differ(model, str(tmp_path / "nowhere"))


def _toy_trainer(train_config_file, out, **kw):
    return A2CTrainer(load_config("toy", train_config_file, **kw), out, log=lambda s: None)


def test_value_lora_does_not_change_generation(train_config_file, tmp_path):
    t = _toy_trainer(train_config_file, tmp_path / "run")
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
    t = _toy_trainer(train_config_file, tmp_path / "run")
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

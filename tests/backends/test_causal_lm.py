"""The causal LM backend: mean token log-prob against a hand-written log-softmax gather."""

import pytest
import torch

from rewardkit.backends.causal_lm import CausalLMBackend

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "a small blue circle",
    "a cat",
    "the woman",
]


def _manual_mean_logprob(model_dir, texts, bos_fallback_to_eos=False):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    out = []
    for t in texts:
        ids = [bos, *tok(t, add_special_tokens=False)["input_ids"], tok.eos_token_id]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        logp = torch.log_softmax(logits, -1)
        out.append(sum(logp[k - 1, ids[k]].item() for k in range(1, len(ids))) / (len(ids) - 1))
    return torch.tensor(out)


@pytest.mark.parametrize("which", ["opt_dir", "gpt2_dir"])
def test_ref_equals_manual_log_softmax_gather(which, request):
    model_dir = request.getfixturevalue(which)
    backend = CausalLMBackend(str(model_dir), device="cpu", batch_size=2)
    got = backend.mean_logprob(CAPTIONS)
    torch.testing.assert_close(got, _manual_mean_logprob(model_dir, CAPTIONS), rtol=1e-4, atol=1e-5)
    backend.batch_size = 64
    torch.testing.assert_close(backend.mean_logprob(CAPTIONS), got, rtol=1e-4, atol=1e-5)


def test_ref_counts_bos_as_context_and_eos_optionally(opt_dir):
    with_eos = CausalLMBackend(str(opt_dir), device="cpu")
    without = CausalLMBackend(str(opt_dir), device="cpu", include_eos=False)
    rows = with_eos.sequences(["a red car"])
    assert rows[0][0] == with_eos.bos_id and rows[0][-1] == with_eos.eos_id and len(rows[0]) == 5
    assert without.sequences(["a red car"])[0] == rows[0][:-1]
    assert not torch.allclose(with_eos.mean_logprob(["a red car"]), without.mean_logprob(["a red car"]))

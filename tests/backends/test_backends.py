"""Every backend on tiny random checkpoints loaded through the same loaders as real ones."""

import json
import warnings

import pytest
import torch

from rewardkit.backends.base import CheckpointNotFoundError, load_hf
from rewardkit.backends.blip2_itm import Blip2ITMBackend
from rewardkit.backends.cache import EmbeddingCache
from rewardkit.backends.causal_lm import CausalLMBackend
from rewardkit.backends.encoder import TruncationWarning
from rewardkit.backends.hf_clip import HFCLIPBackend
from rewardkit.backends.open_clip import OpenCLIPBackend
from tests import tiny_models

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "a small blue circle",
    "a cat",
    "the woman",
]


def test_open_clip_local_dir_matches_raw_model(open_clip_dir, images):
    import open_clip

    backend = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu")
    img = backend.encode_images(images)
    txt = backend.encode_texts(CAPTIONS)
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{open_clip_dir}")
    tok = open_clip.get_tokenizer(f"local-dir:{open_clip_dir}")
    with torch.no_grad():
        want_img = torch.nn.functional.normalize(
            model.encode_image(torch.stack([preprocess(i) for i in images])), dim=-1
        )
        want_txt = torch.nn.functional.normalize(model.encode_text(tok(CAPTIONS)), dim=-1)
    torch.testing.assert_close(img, want_img, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(txt, want_txt, rtol=1e-5, atol=1e-5)
    assert torch.allclose(img.norm(dim=-1), torch.ones(len(images)))


@pytest.mark.parametrize("pool", ["argmax", "eos", "no-causal-mask"])
def test_trimmed_text_encoding_equals_encode_text(pool):
    import open_clip

    from rewardkit.backends.open_clip import encode_text_trimmed

    torch.manual_seed(0)
    cfg = json.loads(json.dumps(tiny_models.TINY_OPEN_CLIP_CFG))
    if pool == "eos":
        cfg["text_cfg"].update(pool_type="eos", eos_id=7, vocab_size=100)
    if pool == "no-causal-mask":
        cfg["text_cfg"]["no_causal_mask"] = True
    model = open_clip.CLIP(**cfg).eval()
    tokens = torch.zeros(5, 16, dtype=torch.long)
    for i, n in enumerate([3, 5, 2, 9, 4]):  # BOS, words, EOT/EOS, then padding
        tokens[i, :n] = torch.randint(1, 7, (n,))
        tokens[i, n] = 7 if pool == "eos" else 49407
    with torch.no_grad():
        torch.testing.assert_close(encode_text_trimmed(model, tokens), model.encode_text(tokens))
        # the trimmed path really runs a shorter context: the pad positions are never embedded
        calls = []
        hook = model.token_embedding.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[1]))
        encode_text_trimmed(model, tokens)
        hook.remove()
    assert calls == ([16] if pool == "no-causal-mask" else [10])


def test_open_clip_custom_config_and_checkpoint_file(open_clip_dir, tmp_path, images):
    import open_clip

    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    (cfg_dir / "rk-tiny-test.json").write_text(json.dumps(tiny_models.TINY_OPEN_CLIP_CFG))
    open_clip.add_model_config(cfg_dir)
    ckpt = str(open_clip_dir / "open_clip_model.safetensors")
    a = OpenCLIPBackend("rk-tiny-test", ckpt, device="cpu").encode_texts(CAPTIONS)
    b = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu").encode_texts(CAPTIONS)
    torch.testing.assert_close(a, b)


def test_unknown_open_clip_architecture_suggests(open_clip_dir):
    from rewardkit.errors import RewardkitError

    with pytest.raises(RewardkitError, match="did you mean"):
        OpenCLIPBackend("ViT-B-33", device="cpu")


def test_image_encoding_is_deduplicated_and_cached(open_clip_dir, images):
    cache = EmbeddingCache()
    backend = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=cache)
    calls = []
    original = backend._image_features
    backend._image_features = lambda px: calls.append(px.shape[0]) or original(px)
    repeated = [images[0]] * 5 + [images[1]] * 5
    first = backend.encode_images(repeated)
    assert sum(calls) == 2
    again = backend.encode_images(repeated)
    assert sum(calls) == 2  # all hits
    assert torch.equal(first, again)
    assert torch.equal(first[0], first[4]) and not torch.equal(first[0], first[5])


def test_disk_cache_round_trip(open_clip_dir, images, tmp_path):
    b1 = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=EmbeddingCache(tmp_path / "c"))
    e1 = b1.encode_images(images[:3], keys=["k0", "k1", "k2"])
    b2 = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=EmbeddingCache(tmp_path / "c"))
    b2._image_features = None  # any encode would fail: everything must come from disk
    torch.testing.assert_close(b2.encode_images(images[:3], keys=["k0", "k1", "k2"]), e1)


def test_batch_size_and_order_do_not_change_embeddings(open_clip_dir, images):
    b = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", batch_size=1)
    one = b.encode_texts(CAPTIONS)
    b.batch_size = 64
    many = b.encode_texts(list(reversed(CAPTIONS)))
    torch.testing.assert_close(one, many.flip(0), rtol=1e-5, atol=1e-5)


def test_truncation_is_one_warning_with_a_count(open_clip_dir):
    b = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b.encode_texts(["a red car", "a " * 30, "dog " * 40])
    msgs = [str(w.message) for w in caught if issubclass(w.category, TruncationWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("2 of 3 distinct captions") and "16-token" in msgs[0]


def test_hf_clip_matches_raw_model(hf_clip_dir, images):
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    backend = HFCLIPBackend(str(hf_clip_dir), device="cpu")
    model = CLIPModel.from_pretrained(hf_clip_dir).eval()
    tok = AutoTokenizer.from_pretrained(hf_clip_dir)
    proc = CLIPImageProcessor.from_pretrained(hf_clip_dir)
    with torch.no_grad():
        enc = tok(CAPTIONS, padding=True, return_tensors="pt")
        out = model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            pixel_values=proc(images=images, return_tensors="pt")["pixel_values"],
        )
    torch.testing.assert_close(
        backend.encode_texts(CAPTIONS),
        torch.nn.functional.normalize(out.text_embeds, dim=-1),
        rtol=1e-5,
        atol=1e-5,
    )
    torch.testing.assert_close(
        backend.encode_images(images),
        torch.nn.functional.normalize(out.image_embeds, dim=-1),
        rtol=1e-5,
        atol=1e-5,
    )


def test_itm_logit_equals_model_forward(blip2_itm_dir, images):
    from transformers import AutoTokenizer, Blip2ForImageTextRetrieval, BlipImageProcessor

    backend = Blip2ITMBackend(str(blip2_itm_dir), device="cpu", batch_size=4)
    got = backend.itm_logits(images, CAPTIONS)
    model = Blip2ForImageTextRetrieval.from_pretrained(blip2_itm_dir).eval()
    tok = AutoTokenizer.from_pretrained(blip2_itm_dir)
    pix = BlipImageProcessor.from_pretrained(blip2_itm_dir)(images=images, return_tensors="pt")[
        "pixel_values"
    ]
    enc = tok(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(
            pixel_values=pix,
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            use_image_text_matching_head=True,
        )
    torch.testing.assert_close(got, out.logits_per_image[:, 1], rtol=1e-4, atol=1e-5)
    # order and batch size do not matter
    perm = [3, 1, 5, 0, 2, 4]
    backend.batch_size = 1
    again = backend.itm_logits([images[i] for i in perm], [CAPTIONS[i] for i in perm])
    torch.testing.assert_close(again, got[perm], rtol=1e-4, atol=1e-5)


def test_itc_cosine_equals_model_forward_diagonal(blip2_itm_dir, images):
    from transformers import AutoTokenizer, Blip2ForImageTextRetrieval, BlipImageProcessor

    backend = Blip2ITMBackend(str(blip2_itm_dir), device="cpu")
    got = backend.itc_cosine(images, CAPTIONS)
    model = Blip2ForImageTextRetrieval.from_pretrained(blip2_itm_dir).eval()
    tok = AutoTokenizer.from_pretrained(blip2_itm_dir)
    pix = BlipImageProcessor.from_pretrained(blip2_itm_dir)(images=images, return_tensors="pt")[
        "pixel_values"
    ]
    enc = tok(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(
            pixel_values=pix,
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            use_image_text_matching_head=False,
        )
    torch.testing.assert_close(got, torch.diagonal(out.logits_per_image), rtol=1e-4, atol=1e-5)


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


def test_missing_checkpoint_offline_is_one_clear_line(monkeypatch, tmp_path):
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(CheckpointNotFoundError) as info:
        load_hf(AutoModelForCausalLM, "facebook/opt-2.7b")
    msg = str(info.value)
    assert "\n" not in msg
    assert (
        "'facebook/opt-2.7b'" in msg
        and "HF_HUB_OFFLINE" in msg
        and "huggingface-cli download facebook/opt-2.7b" in msg
    )


def test_missing_open_clip_weights_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointNotFoundError, match="timm/vit_base_patch32_clip_224.openai|openai"):
        OpenCLIPBackend("ViT-B-32", "openai", device="cpu")

"""The open_clip backend on tiny random checkpoints, loaded through the same loaders as real ones."""

import json

import pytest
import torch

from rewardkit.backends.base import CheckpointNotFoundError
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


def test_missing_open_clip_weights_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointNotFoundError, match="timm/vit_base_patch32_clip_224.openai|openai"):
        OpenCLIPBackend("ViT-B-32", "openai", device="cpu")

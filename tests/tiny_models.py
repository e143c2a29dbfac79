"""Tiny random models of every architecture rewardkit loads, built and saved in the test session."""

from __future__ import annotations

import json
from pathlib import Path

import torch

WORDS = (
    "a an the of in on with and is man woman dog cat red green blue shirt car tree small large "
    "circle square triangle left right top bottom photo depicts image near two three"
).split()

TINY_OPEN_CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def save_open_clip(out: Path, seed: int = 0) -> Path:
    """An open_clip ``local-dir:`` folder with a tiny custom ViT config and random weights."""
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    model = open_clip.CLIP(**TINY_OPEN_CLIP_CFG)
    preprocess = {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    (out / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": TINY_OPEN_CLIP_CFG, "preprocess_cfg": preprocess})
    )
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors")
    )
    return out


def save_hf_clip(out: Path, seed: int = 0) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    tok = build_word_tokenizer(WORDS, style="bert")
    cfg = CLIPConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 12,
            "pad_token_id": tok.pad_token_id,
            "bos_token_id": tok.cls_token_id,
            "eos_token_id": tok.sep_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    CLIPModel(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def blip2_config(vocab_size: int, *, text_input: bool = False, **extra):
    from transformers import Blip2Config

    return Blip2Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        qformer_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "cross_attention_frequency": 1,
            "encoder_hidden_size": 32,
            "max_position_embeddings": 64,
            "use_qformer_text_input": text_input,
        },
        num_query_tokens=4,
        image_text_hidden_size=16,
        **extra,
    )


def save_blip2_itm(out: Path, seed: int = 0) -> Path:
    from transformers import Blip2ForImageTextRetrieval, BlipImageProcessor

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    tok = build_word_tokenizer(WORDS, style="bert")
    model = Blip2ForImageTextRetrieval(blip2_config(len(tok), text_input=True))
    with torch.no_grad():  # random init leaves query tokens at zero: make queries distinct
        model.query_tokens.normal_(0, 0.5)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    BlipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def _opt_config(tok, max_positions: int = 64):
    from transformers import OPTConfig

    return OPTConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        ffn_dim=64,
        num_attention_heads=2,
        max_position_embeddings=max_positions,
        word_embed_proj_dim=32,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )


def save_opt(out: Path, seed: int = 0) -> Path:
    from transformers import OPTForCausalLM

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    tok = build_word_tokenizer(WORDS, style="causal")
    OPTForCausalLM(_opt_config(tok)).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def save_gpt2(out: Path, seed: int = 0) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    tok = build_word_tokenizer(WORDS, style="causal")
    tok.bos_token = None
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_embd=32,
        n_layer=1,
        n_head=2,
        n_positions=64,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
    )
    GPT2LMHeadModel(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def make_images(n: int, seed: int = 0, size: int = 40):
    """Distinct random RGB images."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size, size + 8, 3), dtype=np.uint8)) for _ in range(n)]


BPE_CORPUS = [
    "an image of a man in a green shirt",
    "a photo of two dogs near a tree in 2019",
    "a red car on the left, a blue car on the right",
    "a café with crème brûlée — naïve décor",
    "a small triangle above a large circle 🙂",
    "the woman and the man and the dog",
] * 20


def build_bpe_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer (GPT-2's algorithm: byte pieces, merges, a leading-space marker) trained here.

    Like OPT's, BOS and EOS are ``</s>``; multi-byte characters (é, —, emoji) span several tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>", "<image>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(BPE_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="</s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<image>"],
    )


def save_blip2_captioner(out: Path, seed: int = 0, tokenizer: str = "word") -> Path:
    """A tiny random ``Blip2ForConditionalGeneration`` (OPT language model) with an ``<image>`` token.

    ``tokenizer="bpe"`` gives it a byte-level BPE tokenizer (:func:`build_bpe_tokenizer`).
    """
    from transformers import Blip2ForConditionalGeneration, BlipImageProcessor

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    if tokenizer == "bpe":
        tok = build_bpe_tokenizer()
    else:
        tok = build_word_tokenizer(WORDS, style="causal", extra_specials=["<image>"])
    text = _opt_config(tok, max_positions=96)
    cfg = blip2_config(
        len(tok), text_config=text.to_dict(), image_token_index=tok.convert_tokens_to_ids("<image>")
    )
    model = Blip2ForConditionalGeneration(cfg)
    with torch.no_grad():
        model.query_tokens.normal_(0, 0.5)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    BlipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def save_blip_captioner(out: Path, seed: int = 0) -> Path:
    """A tiny random ``BlipForConditionalGeneration`` with a ``BlipProcessor``: a Hugging Face captioner that is not BLIP-2."""
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    torch.manual_seed(seed)
    tok = build_word_tokenizer(WORDS, style="bert")
    cfg = BlipConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "pad_token_id": tok.pad_token_id,
            "bos_token_id": tok.cls_token_id,
            "eos_token_id": tok.sep_token_id,
            "sep_token_id": tok.sep_token_id,
            "encoder_hidden_size": 32,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    BlipForConditionalGeneration(cfg).save_pretrained(out)
    BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok
    ).save_pretrained(out)
    return out

"""Shared pieces of toy-model training: sizes, tokenizers, seeded scene pools, schedule, targets, configs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier

NORM_MEAN = [0.5, 0.5, 0.5]
NORM_STD = [0.5, 0.5, 0.5]
HIDDEN = 128
N_QUERY = 8

Log = Callable[[str], None]

HARD_BUDGET: dict[str, dict[str, Any]] = {
    "clip": {"steps": 1000, "batch": 160},
    "itm": {"vision_steps": 1200, "vision_pool": 24_000, "steps": 700},
    "captioner": {"stage2_steps": 1800, "sft_steps": 400},
    # the held-out judge: deeper than the reward CLIP, its own seed and scene pool (seed + 5)
    "judge": {"steps": 1500, "batch": 160, "hard_negatives": 0.25, "vision_layers": 5, "text_layers": 3},
    # ``--init``: continue saved models (the shipped toy-hard CLIP and ITM are these continuations)
    "continue": {
        "clip": {"steps": 1500, "batch": 160, "lr": 1e-3, "warmup": 50, "hard_negatives": 0.25},
        "itm": {"steps": 2000, "lr": 5e-4, "warmup": 50},
    },
}
"""Training budgets of the hard tier's models (``toy train-models --tier hard``); see data_cards/toy-hard.md."""

JUDGE_SEED_OFFSET = 5
"""The judge trains with seed ``--seed + 5`` on ``scenes(16_000, --seed + 5)``: a pool no other model sees."""


def normalise(pix: torch.Tensor) -> torch.Tensor:
    """uint8 ``[n, 3, H, W]`` to the float input all toy vision encoders expect."""
    return (pix.float() / 255.0 - 0.5) / 0.5


def text_tokenizer(tier: ToyTier) -> Any:
    """``[CLS] words [SEP]`` tokenizer of toy CLIP and the toy Q-Former."""
    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    return build_word_tokenizer(tier.world().vocabulary(), style="bert")


def causal_tokenizer(tier: ToyTier) -> Any:
    """``<s> words </s>`` tokenizer of toy OPT and the captioner (with BLIP-2's ``<image>`` token)."""
    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    tok = build_word_tokenizer(tier.world().vocabulary(), style="causal", extra_specials=["<image>"])
    tok.padding_side = "right"
    return tok


def scene_pool(n: int, seed: int, log: Log, tier: ToyTier) -> tuple[list[Any], torch.Tensor]:
    """``n`` training scenes of seed ``seed`` and their pixels (uint8 ``[n, 3, H, W]``)."""
    w = tier.world()
    t0 = time.time()
    scene_list = w.scenes(n, seed)
    pix = w.pixels(scene_list)
    log(f"rendered {n} training scenes (seed {seed}) in {time.time() - t0:.0f} s")
    return scene_list, pix


def schedule(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then a cosine to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train_text(scene: Any, rng: random.Random, p_full: float, tier: ToyTier) -> str:
    """A full description with probability ``p_full``, else one with random detail."""
    w = tier.world()
    if rng.random() < p_full:
        return w.full(scene, rng)
    return w.describe(scene, rng, **w.random_detail(rng))


def attribute_targets(scene_list: Sequence[Any], tier: ToyTier) -> dict[str, torch.Tensor]:
    """Per cell (quadrant in ``toy``): each attribute's class (0 = empty); per scene: background class."""
    w = tier.world()
    n = len(scene_list)
    values = w.CELL_ATTRIBUTES
    out = {k: torch.zeros(n, len(w.POSITIONS), dtype=torch.long) for k in values}
    out["background"] = torch.tensor([list(w.BACKGROUNDS).index(s.background) for s in scene_list])
    for i, s in enumerate(scene_list):
        for o in s.objects:
            q = w.POSITIONS.index(o.position)
            for k, vs in values.items():
                out[k][i, q] = 1 + vs.index(getattr(o, k))
    return out


# ---------------------------------------------------------------- configs of the toy BLIP-2 and OPT


def blip2_config(*, qformer_vocab: int | None, tier: ToyTier, lm_tokenizer: Any | None = None) -> Any:
    """Tiny BLIP-2: ViT 64x64/32 (4 layers; 96x96/32 in toy-hard), Q-Former (2 layers, 8 queries), optional OPT."""
    from transformers import Blip2Config

    w = tier.world()
    text_config = None
    extra: dict[str, Any] = {}
    if lm_tokenizer is not None:
        text_config = opt_config(lm_tokenizer).to_dict()
        extra["image_token_index"] = lm_tokenizer.convert_tokens_to_ids("<image>")
    return Blip2Config(
        vision_config={
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "image_size": w.IMAGE_SIZE,
            # One patch per quadrant: each token sees a whole object (8-pixel patches split every object
            # over 2-4 tokens and the ViT learned shapes several times slower; see pretrain_vision).
            "patch_size": 32,
            # Blip2VisionConfig defaults to initializer_range 1e-10 (fine for loading EVA weights, but
            # from scratch every weight starts ~0 and shape features are learned several times slower).
            "initializer_range": 0.02,
        },
        qformer_config={
            "vocab_size": qformer_vocab or 32,
            "hidden_size": HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 2 * HIDDEN,
            "cross_attention_frequency": 1,
            "encoder_hidden_size": HIDDEN,
            "max_position_embeddings": w.QFORMER_POSITIONS,
            "use_qformer_text_input": qformer_vocab is not None,
            # Dropout (BERT's 0.1 by default) slows this tiny Q-Former from scratch several-fold.
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        },
        text_config=text_config,
        num_query_tokens=N_QUERY,
        image_text_hidden_size=64,
        **extra,
    )


def image_processor(tier: ToyTier) -> Any:
    """The BLIP image processor of the toy BLIP-2 models (64x64 or 96x96, mean = std = 0.5)."""
    from transformers import BlipImageProcessor

    size = tier.world().IMAGE_SIZE
    return BlipImageProcessor(size={"height": size, "width": size}, image_mean=NORM_MEAN, image_std=NORM_STD)


def opt_config(tok: Any) -> Any:
    """Tiny OPT: 2 layers of width 128 over the toy vocabulary."""
    from transformers import OPTConfig

    return OPTConfig(
        vocab_size=len(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        ffn_dim=4 * HIDDEN,
        num_attention_heads=4,
        max_position_embeddings=128,
        word_embed_proj_dim=HIDDEN,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        dropout=0.0,
    )

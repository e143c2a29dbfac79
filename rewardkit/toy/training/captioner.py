"""Toy OPT and the toy BLIP-2 captioner (``Blip2ForConditionalGeneration``): stage 2, then SFT on the mostly-terse mix."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from rewardkit.toy.training.common import (
    N_QUERY,
    Log,
    blip2_config,
    causal_tokenizer,
    image_processor,
    normalise,
    scene_pool,
    schedule,
    train_text,
)

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


def _caption_batch(tok: Any, texts: Sequence[str], n_image: int, image_id: int) -> dict[str, torch.Tensor]:
    """``<image>*n <s> caption </s>`` ids with labels on the caption and EOS only."""
    bodies = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    n = max(len(b) for b in bodies) + n_image + 2
    ids = torch.full((len(texts), n), tok.pad_token_id)
    mask = torch.zeros((len(texts), n), dtype=torch.long)
    labels = torch.full((len(texts), n), -100)
    for i, body in enumerate(bodies):
        seq = [image_id] * n_image + [tok.bos_token_id] + body + [tok.eos_token_id]
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
        labels[i, n_image + 1 : len(seq)] = torch.tensor(body + [tok.eos_token_id])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
    )


def sft_text(scene: Any, rng: random.Random, p_terse: float, tier: ToyTier) -> str:
    """The SFT caption mix: terse with probability ``p_terse``, else a description with some detail."""
    w = tier.world()
    if rng.random() < p_terse:
        return w.terse(scene)
    while True:
        detail = w.random_detail(rng, 0.5)
        if any(detail.values()):
            return w.describe(scene, rng, **detail)


def train_captioner(
    out_lm: Path,
    out_captioner: Path,
    itm_dir: Path,
    *,
    seed: int = 0,
    stage2_steps: int = 3000,
    sft_steps: int = 600,
    batch: int = 64,
    p_terse: float = 0.7,
    tier: ToyTier,
    log: Log = print,
) -> tuple[Path, Path]:
    """Stage 2 (Q-Former + OPT on every detail level, plus text-only LM batches), then SFT with OPT frozen.

    The OPT of stage 2 is saved as the toy reference LM; the captioner keeps it frozen and
    its Q-Former, query tokens and projection are fine-tuned on the mostly-terse SFT mix.
    """
    from transformers import Blip2ForConditionalGeneration, Blip2ForImageTextRetrieval

    torch.manual_seed(seed)
    rng = random.Random(seed + 2)
    tok = causal_tokenizer(tier)
    image_id = tok.convert_tokens_to_ids("<image>")
    model = Blip2ForConditionalGeneration(blip2_config(qformer_vocab=None, lm_tokenizer=tok, tier=tier))
    itm = Blip2ForImageTextRetrieval.from_pretrained(itm_dir)
    # The Q-Former's text-only feed-forward layers have no place without text input.
    own = set(model.state_dict())
    state = {
        k: v
        for k, v in itm.state_dict().items()
        if k.startswith(("vision_model.", "qformer.", "query_tokens")) and k in own
    }
    missing, _ = model.load_state_dict(state, strict=False)
    assert all(k.startswith(("language_", "qformer.embeddings")) for k in missing), missing
    del itm
    scene_list, pix = scene_pool(16_000, seed + 2, log, tier)
    lm = model.language_model

    def run(
        steps: int, params: list[torch.nn.Parameter], lr: float, text_fn, text_only: bool, tag: str
    ) -> None:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        t0 = time.time()
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr * schedule(step, steps, 30)
            idx = torch.randint(len(scene_list), (batch,)).tolist()
            texts = [text_fn(scene_list[i]) for i in idx]
            b = _caption_batch(tok, texts, N_QUERY, image_id)
            out = model(pixel_values=normalise(pix[idx]), **b)
            loss = out.loss
            if text_only:  # the same LM also learns the language without the visual prefix
                t = _caption_batch(tok, [train_text(scene_list[i], rng, 0.3, tier) for i in idx], 0, image_id)
                lm_out = lm(input_ids=t["input_ids"], attention_mask=t["attention_mask"])
                loss = loss + _lm_loss(lm_out.logits, t["labels"])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if step % 50 == 0 or step == steps - 1:
                log(f"{tag} step {step:4d} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")

    # The vision encoder (the ITM's, pretrained on every attribute) stays frozen throughout, as
    # EVA-ViT-g does in BLIP-2 and VLRM; stage 2 trains Q-Former, projection and the toy OPT.
    model.vision_model.requires_grad_(False)
    model.train()
    stage2 = [p for p in model.parameters() if p.requires_grad]
    run(stage2_steps, stage2, 1e-3, lambda s: train_text(s, rng, 0.4, tier), True, "stage2")
    model.eval()
    lm.save_pretrained(out_lm)
    tok.save_pretrained(out_lm)
    model.train()
    lm.requires_grad_(False)
    sft = [p for n, p in model.named_parameters() if p.requires_grad]
    run(sft_steps, sft, 5e-4, lambda s: sft_text(s, rng, p_terse, tier), False, "sft")
    model.eval()
    model.save_pretrained(out_captioner)
    tok.save_pretrained(out_captioner)
    image_processor(tier).save_pretrained(out_captioner)
    return out_lm, out_captioner

"""Toy BLIP-2 ITM (``Blip2ForImageTextRetrieval``): vision pretraining, then stage 1 (ITC + ITM with hard negatives)."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from rewardkit.toy.training.common import (
    Log,
    attribute_targets,
    blip2_config,
    image_processor,
    normalise,
    scene_pool,
    schedule,
    text_tokenizer,
)
from rewardkit.toy.training.state import TrainState

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


def _qformer_text(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    t = model.qformer(query_embeds=model.embeddings(input_ids=ids), query_length=0, attention_mask=mask)
    return F.normalize(model.text_projection(t.last_hidden_state[:, 0, :]), dim=-1)


def _qformer_image(model: Any, hidden: torch.Tensor) -> torch.Tensor:
    q = model.qformer(
        query_embeds=model.query_tokens.expand(hidden.shape[0], -1, -1),
        encoder_hidden_states=hidden,
        encoder_attention_mask=torch.ones(hidden.shape[:-1], dtype=torch.long),
    ).last_hidden_state
    return F.normalize(model.vision_projection(q), dim=-1)


def _quadrant_tokens(hidden: torch.Tensor, cells: int = 4) -> torch.Tensor:
    """ViT states ``[n, 1 + g*g, d]`` to each grid cell's patch tokens, row-major: ``[n, cells, g*g/cells, d]``."""
    n, t, d = hidden.shape
    g, c = math.isqrt(t - 1), math.isqrt(cells)
    k = g // c
    p = hidden[:, 1:].reshape(n, c, k, c, k, d).permute(0, 1, 3, 2, 4, 5)
    return p.reshape(n, c * c, k * k, d)


def pretrain_vision(
    vision: Any,
    *,
    seed: int,
    steps: int = 1500,
    batch: int = 128,
    pool: int = 48_000,
    tier: ToyTier,
    log: Log = print,
) -> dict[str, float]:
    """Pretrain a BLIP-2 ViT so that every patch token encodes its quadrant's object; returns held-out accuracies.

    The toy stand-in for EVA-ViT-g's general pretraining. One linear head per attribute reads
    *each* patch token and predicts the shape, colour and size of the object in its quadrant
    (or none) and which quadrant it is in; [CLS] predicts the background, so the Q-Former's
    cross-attention can read every attribute from single tokens. Measured with 8-pixel patches
    (16 tokens per quadrant): per-token shape reached only ~60 % in 400 steps, and heads on the
    flattened quadrant tokens reached 100 % but in a form the Q-Former could not read (main
    object's shape right in 50 % of captions); with one 32-pixel patch per quadrant shape is
    100 % in ~1,500 steps (~90 s).
    """
    w = tier.world()
    torch.manual_seed(seed)
    scene_list, pix = scene_pool(pool, seed + 3, log, tier)
    targets = attribute_targets(scene_list, tier)
    d = vision.config.hidden_size
    cells = len(w.POSITIONS)
    heads = torch.nn.ModuleDict(
        {
            **{k: torch.nn.Linear(d, 1 + len(v)) for k, v in w.CELL_ATTRIBUTES.items()},
            "quadrant": torch.nn.Linear(d, cells),
            "background": torch.nn.Linear(d, len(w.BACKGROUNDS)),
        }
    )

    def losses(hidden: torch.Tensor, tgt: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, float]]:
        quads = _quadrant_tokens(hidden, cells)  # [n, cells, m, d]
        m = quads.shape[2]
        tgt = dict(tgt, quadrant=torch.arange(cells).expand(len(hidden), cells))
        out = {}
        for k, head in heads.items():
            if k == "background":
                logits, y = head(hidden[:, 0]), tgt[k]
            else:
                logits, y = head(quads), tgt[k][:, :, None].expand(-1, -1, m)
            out[k] = (
                F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)),
                (logits.argmax(-1) == y).float().mean().item(),
            )
        return out

    params = [*vision.parameters(), *heads.parameters()]
    lr = 1e-3
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    vision.train()
    t0 = time.time()
    for step in range(steps):
        for gr in opt.param_groups:
            gr["lr"] = lr * schedule(step, steps, 30)
        idx = torch.randint(len(scene_list), (batch,))
        hidden = vision(pixel_values=normalise(pix[idx])).last_hidden_state
        parts = losses(hidden, {k: v[idx] for k, v in targets.items()})
        loss = sum(v[0] for v in parts.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            accs = " ".join(f"{k} {v[1]:.3f}" for k, v in parts.items())
            log(f"vision pretraining step {step:4d} loss {loss.item():.3f} {accs} ({time.time() - t0:.0f} s)")
    vision.eval()
    test = w.scenes(1000, seed + 5003)
    with torch.no_grad():
        parts = losses(
            vision(pixel_values=normalise(w.pixels(test))).last_hidden_state, attribute_targets(test, tier)
        )
    acc = {k: v[1] for k, v in parts.items()}
    log(
        "vision pretraining, held-out per-token accuracy: " + " ".join(f"{k} {v:.3f}" for k, v in acc.items())
    )
    return acc


def _itc_itm_loss(
    model: Any, tok: Any, hidden: torch.Tensor, chosen: list[Any], rng: random.Random, tier: ToyTier
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """ITC (image queries vs caption [CLS]) and ITM (positives vs one-attribute hard negatives).

    Each image gets its description, a hard negative, and a second hard negative (or, one time
    in four, another scene's description). The ITM loss adds a ranking term so the match logit
    (the reward) of the true description beats the hard negative's.
    """
    from rewardkit.backends.blip2_itm import itm_logits_from_hidden

    w = tier.world()
    batch = len(chosen)
    # Hard negatives change an attribute the positive states, in the same form (terse to full), so
    # the ITM head learns to check detail rather than to distrust long captions.
    bad = w.corrupt
    details = [dict.fromkeys(w.DETAILS, True) if rng.random() < 0.5 else w.random_detail(rng) for _ in chosen]
    pos = [w.describe(s, rng, **d) for s, d in zip(chosen, details)]
    hard = [w.describe(bad(s, rng, d), rng, **d) for s, d in zip(chosen, details)]
    perm = torch.randperm(batch).tolist()
    third = [
        pos[j] if rng.random() < 0.25 and pos[j] != pos[i] else w.describe(bad(s, rng, d), rng, **d)
        for i, (j, s, d) in enumerate(zip(perm, chosen, details))
    ]
    enc = tok(pos + hard + third, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    # ITC: image queries vs caption [CLS], max over queries.
    q = _qformer_image(model, hidden)
    t = _qformer_text(model, ids[:batch], mask[:batch])
    sim = torch.einsum("iqd,td->itq", q, t).max(-1).values / 0.07
    same = torch.tensor([[a == b for b in pos] for a in pos]) & ~torch.eye(batch, dtype=torch.bool)
    sim = sim.masked_fill(same, -1e4)
    target = torch.arange(batch)
    loss_itc = (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target)) / 2
    logits = itm_logits_from_hidden(model, torch.cat([hidden, hidden, hidden]), ids, mask)
    labels = torch.cat([torch.ones(batch), torch.zeros(2 * batch)]).long()
    weight = torch.tensor([1.0, 2.0])  # balance: two negatives (class 0) for each positive (class 1)
    match = logits[:, 1]
    rank = F.softplus(match[batch : 2 * batch] - match[:batch]).mean()
    loss_itm = F.cross_entropy(logits, labels, weight=weight) + rank
    return loss_itc, loss_itm, (match[:batch] > match[batch : 2 * batch]).float().mean().item()


def itm_stage1(
    model: Any,
    tok: Any,
    scene_list: list[Any],
    pix: torch.Tensor,
    *,
    seed: int,
    steps: int,
    batch: int = 128,
    lr: float = 1e-3,
    warmup: int = 30,
    checkpoint: Path | None = None,
    spec: dict[str, Any] | None = None,
    tier: ToyTier,
    log: Log = print,
) -> None:
    """BLIP-2 stage 1: the vision encoder frozen (its states computed once), Q-Former trained on ITC + ITM.

    ``checkpoint``: a :class:`TrainState` folder (resumes a stopped run; ``spec`` names the run).
    """
    if steps <= 0:
        return
    torch.manual_seed(seed + 7)
    rng = random.Random(seed + 7)
    model.vision_model.requires_grad_(False)
    model.eval()
    t0 = time.time()
    with torch.no_grad():
        states = torch.cat(
            [
                model.vision_model(pixel_values=normalise(pix[i : i + 256])).last_hidden_state
                for i in range(0, len(pix), 256)
            ]
        )
    log(f"itm stage 1: vision states of {len(states)} scenes in {time.time() - t0:.0f} s")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    run = {
        "model": "itm",
        "seed": seed,
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "warmup": warmup,
        **(spec or {}),
    }
    state = TrainState(checkpoint, run, {"model": model}, opt, rng, log=log)
    start = state.resume()
    model.train()
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = lr * schedule(step, steps, warmup)
        idx = torch.randint(len(scene_list), (batch,)).tolist()
        loss_itc, loss_itm, acc = _itc_itm_loss(
            model, tok, states[idx], [scene_list[i] for i in idx], rng, tier
        )
        loss = 0.5 * loss_itc + loss_itm
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(
                f"itm stage 1 step {step:4d} itc {loss_itc.item():.3f} itm {loss_itm.item():.3f} true>hard {acc:.3f} ({time.time() - t0:.0f} s)"
            )
        state.tick(step + 1, steps)


def train_itm(
    out: Path,
    *,
    seed: int = 0,
    steps: int = 1500,
    vision_steps: int = 1500,
    batch: int = 128,
    vision_pool: int = 48_000,
    lr: float = 1e-3,
    warmup: int = 30,
    init: Path | None = None,
    checkpoint: Path | None = None,
    tier: ToyTier,
    log: Log = print,
) -> Path:
    """Train toy BLIP-2 stage-1 style: pretrain the ViT, freeze it, then ITC + ITM with one-attribute hard negatives.

    ``init``: continue stage 1 from a saved toy ITM folder (its ViT is kept; no pretraining).
    ``checkpoint``: a :class:`TrainState` folder for stage 1 (a stopped run resumes).
    """
    from transformers import Blip2ForImageTextRetrieval

    torch.manual_seed(seed)
    tok = text_tokenizer(tier)
    if init is not None:
        model = Blip2ForImageTextRetrieval.from_pretrained(init)
    else:
        model = Blip2ForImageTextRetrieval(blip2_config(qformer_vocab=len(tok), tier=tier))
        with torch.no_grad():
            model.query_tokens.normal_(0, 0.02)
        pretrain_vision(
            model.vision_model, seed=seed, steps=vision_steps, pool=vision_pool, tier=tier, log=log
        )
    scene_list, pix = scene_pool(16_000, seed + 1, log, tier)
    spec = {"tier": tier.world().NAME, "init": None if init is None else str(init)}
    if init is None:
        spec.update(vision_steps=vision_steps, vision_pool=vision_pool)
    itm_stage1(
        model,
        tok,
        scene_list,
        pix,
        seed=seed,
        steps=steps,
        batch=batch,
        lr=lr,
        warmup=warmup,
        checkpoint=checkpoint,
        spec=spec,
        tier=tier,
        log=log,
    )
    model.eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    image_processor(tier).save_pretrained(out)
    return out

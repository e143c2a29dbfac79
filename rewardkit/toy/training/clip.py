"""Toy CLIP (an open_clip custom config): contrastive training with scene probes and optional hard negatives."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from rewardkit.toy.training.common import (
    HIDDEN,
    NORM_MEAN,
    NORM_STD,
    Log,
    attribute_targets,
    normalise,
    scene_pool,
    schedule,
    text_tokenizer,
)
from rewardkit.toy.training.state import TrainState

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


def clip_config(
    vocab_size: int,
    pad_id: int,
    eos_id: int,
    tier: ToyTier,
    *,
    vision_layers: int = 4,
    text_layers: int = 2,
) -> dict[str, Any]:
    """open_clip custom config: the tier's image tower (``CLIP_VISION`` of its scene module: a small
    ModifiedResNet in ``toy``, a ViT 96/32 in the hard tier) and a 2-layer text transformer.

    ``vision_layers`` (ViT towers only) and ``text_layers`` change the depths (the held-out judge is deeper).
    """
    w = tier.world()
    vision = {"image_size": w.IMAGE_SIZE, **w.CLIP_VISION}
    if "patch_size" in vision:
        vision["layers"] = vision_layers
    return {
        "embed_dim": 64,
        "vision_cfg": vision,
        "text_cfg": {
            "context_length": w.CONTEXT_LENGTH,
            "vocab_size": vocab_size,
            "width": HIDDEN,
            "heads": 4,
            "layers": text_layers,
            "hf_tokenizer_name": "rewardkit-toy",
            "pad_id": pad_id,
            "eos_id": eos_id,
            "pool_type": "eos",
        },
    }


_PROBE_SCALE = 8.0  # probes read unit-norm embeddings; this keeps their logits in a trainable range


class _SceneProbe(torch.nn.Module):
    """Linear read-out of a scene from one embedding: per cell each attribute (or empty); background."""

    def __init__(self, dim: int, tier: ToyTier) -> None:
        super().__init__()
        w = tier.world()
        self.kinds = {k: 1 + len(v) for k, v in w.CELL_ATTRIBUTES.items()}
        self.cells = len(w.POSITIONS)
        self.quadrant = torch.nn.Linear(dim, self.cells * sum(self.kinds.values()))
        self.background = torch.nn.Linear(dim, len(w.BACKGROUNDS))

    def forward(self, emb: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-row cross-entropy summed over attributes, ``[n]``."""
        n, c = len(emb), self.cells
        parts = self.quadrant(emb).reshape(n, c, -1).split(list(self.kinds.values()), dim=-1)
        loss = F.cross_entropy(self.background(emb), targets["background"], reduction="none")
        for kind, logits in zip(self.kinds, parts, strict=True):
            ce = F.cross_entropy(logits.reshape(n * c, -1), targets[kind].reshape(-1), reduction="none")
            loss = loss + ce.reshape(n, c).mean(1)
        return loss


def train_clip(
    out: Path,
    *,
    seed: int = 0,
    steps: int = 900,
    batch: int = 256,
    p_full: float = 0.5,
    probe_weight: float = 1.0,
    pool: int = 16_000,
    pool_seed: int | None = None,
    lr: float = 2e-3,
    warmup: int = 20,
    hard_negatives: float = 0.0,
    vision_layers: int = 4,
    text_layers: int = 2,
    init: Path | None = None,
    checkpoint: Path | None = None,
    tier: ToyTier,
    log: Log = print,
) -> Path:
    """Train toy CLIP contrastively on full and partial descriptions; save a ``local-dir:`` folder.

    Besides the contrastive loss, linear probes (discarded after training) must read every
    object's shape, colour and size per quadrant and the background from the normalised image
    embedding and from the text embedding of full descriptions, weighted by ``probe_weight``.
    Contrastive batches rarely hold two scenes that differ in one position, so without the
    probes the embeddings stayed vague about positions (R@1 0.907 on full descriptions; a
    linear probe read the quadrant of a lone object from the text embedding 32 % of the time).

    ``hard_negatives``: share of the batch whose full description also enters as a one-attribute
    corrupted copy, a negative for every image (the contrastive batch alone rarely holds two
    scenes one attribute apart). ``init``: continue from a saved toy CLIP folder (its config
    wins over the depth arguments). ``checkpoint``: a folder for :class:`TrainState`; a run
    given the same folder again resumes where the last one stopped. ``pool_seed`` (default
    ``seed``): the seed of the training scenes.
    """
    import open_clip
    from safetensors.torch import save_file

    w = tier.world()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = text_tokenizer(tier)
    if init is not None:
        from safetensors.torch import load_file

        cfg = json.loads((Path(init) / "open_clip_config.json").read_text())["model_cfg"]
        model = open_clip.CLIP(**cfg)
        model.load_state_dict(load_file(str(Path(init) / "open_clip_model.safetensors")))
    else:
        cfg = clip_config(
            len(tok),
            tok.pad_token_id,
            tok.sep_token_id,
            tier,
            vision_layers=vision_layers,
            text_layers=text_layers,
        )
        model = open_clip.CLIP(**cfg)
    probes = torch.nn.ModuleDict(
        {"image": _SceneProbe(cfg["embed_dim"], tier), "text": _SceneProbe(cfg["embed_dim"], tier)}
    )
    scene_list, pix = scene_pool(pool, seed if pool_seed is None else pool_seed, log, tier)
    targets = attribute_targets(scene_list, tier)
    params = [*model.parameters(), *probes.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    bad = w.corrupt
    spec = {
        "model": "clip",
        "tier": w.NAME,
        "seed": seed,
        "steps": steps,
        "batch": batch,
        "p_full": p_full,
        "probe_weight": probe_weight,
        "pool": pool,
        "pool_seed": pool_seed,
        "lr": lr,
        "warmup": warmup,
        "hard_negatives": hard_negatives,
        "init": None if init is None else str(init),
        "config": cfg,
    }
    state = TrainState(checkpoint, spec, {"model": model, "probes": probes}, opt, rng, log=log)
    start = state.resume()
    t0 = time.time()
    model.train()
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = lr * schedule(step, steps, warmup)
        idx = torch.randint(len(scene_list), (batch,))
        is_full = torch.tensor([rng.random() < p_full for _ in range(batch)], dtype=torch.float)
        texts = [
            w.full(scene_list[i], rng) if f else w.describe(scene_list[i], rng, **w.random_detail(rng))
            for i, f in zip(idx.tolist(), is_full.tolist(), strict=True)
        ]
        negatives: list[str] = []
        if hard_negatives > 0:
            rows = [i for i in range(batch) if is_full[i]][: round(hard_negatives * batch)]
            negatives = [w.full(bad(scene_list[idx[i]], rng), rng) for i in rows]
        ids = tok(
            texts + negatives,
            padding="max_length",
            max_length=w.CONTEXT_LENGTH,
            truncation=True,
            return_tensors="pt",
        )
        img = F.normalize(model.encode_image(normalise(pix[idx])), dim=-1)
        txt_all = F.normalize(model.encode_text(ids["input_ids"]), dim=-1)
        txt = txt_all[:batch]
        logits = model.logit_scale.exp().clamp(max=100) * img @ txt_all.T
        # Identical texts are not negatives of each other (terse captions repeat often).
        same = torch.tensor([[a == b for b in texts + negatives] for a in texts])
        own = torch.eye(batch, len(texts) + len(negatives), dtype=torch.bool)
        logits_t = logits.masked_fill(same & ~own, -1e4)
        target = torch.arange(batch)
        contrastive = (F.cross_entropy(logits_t, target) + F.cross_entropy(logits_t[:, :batch].T, target)) / 2
        tgt = {k: v[idx] for k, v in targets.items()}
        probe = probes["image"](img * _PROBE_SCALE, tgt).mean()
        probe = probe + (probes["text"](txt * _PROBE_SCALE, tgt) * is_full).sum() / is_full.sum().clamp(min=1)
        loss = contrastive + probe_weight * probe
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            log(
                f"clip step {step:4d} contrastive {contrastive.item():.3f} probes {probe.item():.3f}"
                f" ({time.time() - t0:.0f} s)"
            )
        state.tick(step + 1, steps)
    out.mkdir(parents=True, exist_ok=True)
    preprocess = {"mean": NORM_MEAN, "std": NORM_STD, "interpolation": "bicubic", "resize_mode": "shortest"}
    (out / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess}, indent=2) + "\n"
    )
    model.eval()
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors")
    )
    tok.save_pretrained(out)
    return out

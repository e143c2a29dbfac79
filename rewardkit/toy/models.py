"""Toy-world model configs and their training: toy CLIP, toy ITM, toy OPT and the toy BLIP-2 captioner.

Every model is a standard architecture (an open_clip custom config, transformers
``Blip2ForImageTextRetrieval``, ``OPTForCausalLM`` and ``Blip2ForConditionalGeneration``)
saved in the format its public loader reads, so rewardkit loads it exactly like a real checkpoint.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rewardkit.toy import scenes as sc

WEIGHTS_DIR = Path(__file__).parent / "weights"
HARD_WEIGHTS_DIR = Path(__file__).parent / "weights-hard"
NORM_MEAN = [0.5, 0.5, 0.5]
NORM_STD = [0.5, 0.5, 0.5]
CONTEXT_LENGTH = 48
HIDDEN = 128
N_QUERY = 8

Log = Callable[[str], None]
World = Any
"""A toy tier's scene module: :mod:`rewardkit.toy.scenes` (``toy``) or :mod:`rewardkit.toy.hard`."""


HARD_BUDGET: dict[str, dict[str, int]] = {
    "clip": {"steps": 1000, "batch": 160},
    "itm": {"vision_steps": 1200, "vision_pool": 24_000, "steps": 700},
    "captioner": {"stage2_steps": 1800, "sft_steps": 400},
}
"""Training budgets of the hard tier's models (``toy train-models --tier hard``): ~20 min each on one core."""


def world(tier: str) -> World:
    """The scene module of a tier (``toy``/``easy`` or ``toy-hard``/``hard``; see ``rewardkit list tiers``)."""
    from rewardkit.registry import TIERS

    return TIERS.get(tier).world()


def weights_dir(w: World) -> Path:
    """Where a tier's models ship."""
    return WEIGHTS_DIR if w is sc else HARD_WEIGHTS_DIR


def context_length(w: World) -> int:
    """Text positions of a tier's CLIP (full hard descriptions run to ~55 tokens)."""
    return getattr(w, "CONTEXT_LENGTH", CONTEXT_LENGTH)


def model_dir(name: str, root: Path | None = None) -> Path:
    """Folder of a shipped toy model: ``clip``, ``itm``, ``opt`` or ``captioner``."""
    return (root or WEIGHTS_DIR) / name


def normalise(pix: torch.Tensor) -> torch.Tensor:
    """uint8 ``[n, 3, H, W]`` to the float input all toy vision encoders expect."""
    return (pix.float() / 255.0 - 0.5) / 0.5


def text_tokenizer(w: World = sc) -> Any:
    """``[CLS] words [SEP]`` tokenizer of toy CLIP and the toy Q-Former."""
    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    return build_word_tokenizer(w.vocabulary(), style="bert")


def causal_tokenizer(w: World = sc) -> Any:
    """``<s> words </s>`` tokenizer of toy OPT and the captioner (with BLIP-2's ``<image>`` token)."""
    from rewardkit.backends.word_tokenizer import build_word_tokenizer

    tok = build_word_tokenizer(w.vocabulary(), style="causal", extra_specials=["<image>"])
    tok.padding_side = "right"
    return tok


def _pool(n: int, seed: int, log: Log, w: World = sc) -> tuple[list[Any], torch.Tensor]:
    t0 = time.time()
    scene_list = w.scenes(n, seed)
    pix = w.pixels(scene_list)
    log(f"rendered {n} training scenes (seed {seed}) in {time.time() - t0:.0f} s")
    return scene_list, pix


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class TrainState:
    """Resumable state of one long training run: modules, optimiser, step and RNG states in one file.

    ``TrainState(folder, spec, modules, opt, rng)``: :meth:`resume` returns the step to start
    from (0 without a saved state) after restoring everything; :meth:`tick` saves at most every
    ``every_s`` seconds and always on the last step, atomically (a kill at any instant leaves the
    previous state). A state saved by a run with another ``spec`` (budget, seed, learning rate)
    is refused. Resumed training equals uninterrupted training bit for bit (``tests/toy``).
    """

    FILE = "train_state.pt"

    def __init__(
        self,
        folder: Path | None,
        spec: dict[str, Any],
        modules: dict[str, torch.nn.Module],
        opt: torch.optim.Optimizer,
        rng: random.Random,
        *,
        every_s: float = 120.0,
        log: Log = print,
    ) -> None:
        self.path = None if folder is None else Path(folder) / self.FILE
        self.spec = json.loads(json.dumps(spec))
        self.modules, self.opt, self.rng = modules, opt, rng
        self.every_s, self.log = every_s, log
        self._saved = time.monotonic()

    def resume(self) -> int:
        """Restore a saved state (if any); the first step still to run."""
        if self.path is None or not self.path.exists():
            return 0
        from rewardkit.errors import RewardkitError

        st = torch.load(self.path, weights_only=True, map_location="cpu")
        if st["spec"] != self.spec:
            diff = sorted(k for k in {*st["spec"], *self.spec} if st["spec"].get(k) != self.spec.get(k))
            raise RewardkitError(
                f"{self.path}: saved by a run with other settings ({', '.join(diff)}); "
                "use another --checkpoint folder or the same settings"
            )
        for name, module in self.modules.items():
            module.load_state_dict(st["modules"][name])
        self.opt.load_state_dict(st["optimizer"])
        torch.set_rng_state(st["torch_rng"])
        version, internal, gauss = st["python_rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.log(f"resumed from {self.path} at step {st['step']}")
        return int(st["step"])

    def tick(self, next_step: int, total: int) -> None:
        """Save when ``every_s`` has passed or the run is complete (``next_step == total``)."""
        if self.path is None or (next_step < total and time.monotonic() - self._saved < self.every_s):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(
            {
                "spec": self.spec,
                "step": next_step,
                "modules": {k: m.state_dict() for k, m in self.modules.items()},
                "optimizer": self.opt.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "python_rng": self.rng.getstate(),
            },
            tmp,
        )
        tmp.replace(self.path)
        self._saved = time.monotonic()


def _train_text(scene: Any, rng: random.Random, p_full: float = 0.5, w: World = sc) -> str:
    if rng.random() < p_full:
        return w.full(scene, rng)
    return w.describe(scene, rng, **w.random_detail(rng))


# ---------------------------------------------------------------- toy CLIP (open_clip)


def clip_config(
    vocab_size: int, pad_id: int, eos_id: int, w: World = sc, *, vision_layers: int = 4, text_layers: int = 2
) -> dict[str, Any]:
    """open_clip custom config: a small image tower (ModifiedResNet; ViT 96/32 in the hard tier) and a 2-layer text transformer.

    ``vision_layers``/``text_layers`` change the hard tier's depths (the held-out judge is deeper).
    """
    return {
        "embed_dim": 64,
        "vision_cfg": (
            {"image_size": w.IMAGE_SIZE, "layers": [1, 1, 1, 1], "width": 16}
            if w is sc
            # hard tier, 96 x 96: the ResNet stem costs ~4 s per batch of 256 on one core; a ViT with
            # one 32-pixel patch per grid cell (as the toy BLIP-2's) costs a fraction of it
            else {
                "image_size": w.IMAGE_SIZE,
                "patch_size": 32,
                "width": HIDDEN,
                "layers": vision_layers,
                "head_width": 32,
            }
        ),
        "text_cfg": {
            "context_length": context_length(w),
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

    def __init__(self, dim: int, w: World = sc) -> None:
        super().__init__()
        self.kinds = {k: 1 + len(v) for k, v in cell_attributes(w).items()}
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
    w: World = sc,
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

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = text_tokenizer(w)
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
            w,
            vision_layers=vision_layers,
            text_layers=text_layers,
        )
        model = open_clip.CLIP(**cfg)
    probes = torch.nn.ModuleDict(
        {"image": _SceneProbe(cfg["embed_dim"], w), "text": _SceneProbe(cfg["embed_dim"], w)}
    )
    scene_list, pix = _pool(pool, seed if pool_seed is None else pool_seed, log, w)
    targets = attribute_targets(scene_list, w)
    params = [*model.parameters(), *probes.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    bad = corrupter(w)
    spec = {
        "model": "clip",
        "tier": getattr(w, "NAME", "toy"),
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
            g["lr"] = lr * _schedule(step, steps, warmup)
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
            max_length=context_length(w),
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


# ---------------------------------------------------------------- toy BLIP-2 (ITM and captioner)


def blip2_config(*, qformer_vocab: int | None, lm_tokenizer: Any | None = None, w: World = sc) -> Any:
    """Tiny BLIP-2: ViT 64x64/32 (4 layers), Q-Former (2 layers, 8 queries), optional OPT language model."""
    from transformers import Blip2Config

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
            "max_position_embeddings": getattr(w, "QFORMER_POSITIONS", 64),
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


def image_processor(w: World = sc) -> Any:
    """The BLIP image processor of the toy BLIP-2 models (64x64 or 96x96, mean = std = 0.5)."""
    from transformers import BlipImageProcessor

    return BlipImageProcessor(
        size={"height": w.IMAGE_SIZE, "width": w.IMAGE_SIZE}, image_mean=NORM_MEAN, image_std=NORM_STD
    )


def cell_attributes(w: World) -> dict[str, tuple[str, ...]]:
    """Per-cell attributes the training probes read: shape, colour, size (and fill in the hard tier)."""
    return getattr(w, "CELL_ATTRIBUTES", None) or {
        "shape": sc.SHAPES,
        "color": tuple(sc.COLORS),
        "size": tuple(sc.SIZES),
    }


def corrupter(w: World) -> Callable[..., Any]:
    """The tier's one-attribute hard-negative function."""
    return corrupt if w is sc else w.corrupt


def corrupt(scene: sc.Scene, rng: random.Random, detail: dict[str, bool] | None = None) -> sc.Scene:
    """The scene with one attribute changed that a description with ``detail`` states (all kinds by default).

    Kinds: an object's colour or shape, its size, its position (to a free quadrant), the
    background, or a colour swap between two objects; only the main object unless ``others``.
    """
    d = detail or dict.fromkeys(sc.DETAILS, True)
    for _ in range(10):
        out = _corrupt_once(scene, rng, d)
        if sc.describe(out, **d) != sc.describe(scene, **d):
            return out
    return out


def _corrupt_once(scene: sc.Scene, rng: random.Random, d: dict[str, bool]) -> sc.Scene:
    objs = list(scene.objects)
    which = list(range(len(objs))) if d["others"] else [0]
    kinds = ["color", "shape"]
    if d["size"]:
        kinds.append("size")
    if d["background"]:
        kinds.append("background")
    free = [p for p in sc.POSITIONS if p not in {o.position for o in objs}]
    if d["position"] and free:
        kinds.append("position")
    if d["others"] and len(objs) > 1 and len({o.color for o in objs}) > 1:
        kinds.append("swap")
    kind = rng.choice(kinds)
    i = rng.choice(which)
    o = objs[i]
    if kind == "background":
        return replace(scene, background=rng.choice([b for b in sc.BACKGROUNDS if b != scene.background]))
    if kind == "swap":
        i, j = rng.sample(range(len(objs)), 2)
        while objs[i].color == objs[j].color:
            i, j = rng.sample(range(len(objs)), 2)
        objs[i], objs[j] = replace(objs[i], color=objs[j].color), replace(objs[j], color=objs[i].color)
    elif kind == "position":
        objs[i] = replace(o, position=rng.choice(free))
    else:
        values = {"color": list(sc.COLORS), "shape": list(sc.SHAPES), "size": list(sc.SIZES)}[kind]
        objs[i] = replace(o, **{kind: rng.choice([v for v in values if v != getattr(o, kind)])})
    return replace(scene, objects=tuple(objs))


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


def attribute_targets(scene_list: Sequence[Any], w: World = sc) -> dict[str, torch.Tensor]:
    """Per cell (quadrant in ``toy``): each attribute's class (0 = empty); per scene: background class."""
    n = len(scene_list)
    values = cell_attributes(w)
    out = {k: torch.zeros(n, len(w.POSITIONS), dtype=torch.long) for k in values}
    out["background"] = torch.tensor([list(w.BACKGROUNDS).index(s.background) for s in scene_list])
    for i, s in enumerate(scene_list):
        for o in s.objects:
            q = w.POSITIONS.index(o.position)
            for k, vs in values.items():
                out[k][i, q] = 1 + vs.index(getattr(o, k))
    return out


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
    w: World = sc,
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
    torch.manual_seed(seed)
    scene_list, pix = _pool(pool, seed + 3, log, w)
    targets = attribute_targets(scene_list, w)
    d = vision.config.hidden_size
    cells = len(w.POSITIONS)
    heads = torch.nn.ModuleDict(
        {
            **{k: torch.nn.Linear(d, 1 + len(v)) for k, v in cell_attributes(w).items()},
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
            gr["lr"] = lr * _schedule(step, steps, 30)
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
            vision(pixel_values=normalise(w.pixels(test))).last_hidden_state, attribute_targets(test, w)
        )
    acc = {k: v[1] for k, v in parts.items()}
    log(
        "vision pretraining, held-out per-token accuracy: " + " ".join(f"{k} {v:.3f}" for k, v in acc.items())
    )
    return acc


def _itc_itm_loss(
    model: Any, tok: Any, hidden: torch.Tensor, chosen: list[Any], rng: random.Random, w: World = sc
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """ITC (image queries vs caption [CLS]) and ITM (positives vs one-attribute hard negatives).

    Each image gets its description, a hard negative, and a second hard negative (or, one time
    in four, another scene's description). The ITM loss adds a ranking term so the match logit
    (the reward) of the true description beats the hard negative's.
    """
    from rewardkit.backends.blip2_itm import itm_logits_from_hidden

    batch = len(chosen)
    # Hard negatives change an attribute the positive states, in the same form (terse to full), so
    # the ITM head learns to check detail rather than to distrust long captions.
    bad = corrupter(w)
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
    w: World = sc,
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
            g["lr"] = lr * _schedule(step, steps, warmup)
        idx = torch.randint(len(scene_list), (batch,)).tolist()
        loss_itc, loss_itm, acc = _itc_itm_loss(model, tok, states[idx], [scene_list[i] for i in idx], rng, w)
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
    w: World = sc,
    log: Log = print,
) -> Path:
    """Train toy BLIP-2 stage-1 style: pretrain the ViT, freeze it, then ITC + ITM with one-attribute hard negatives.

    ``init``: continue stage 1 from a saved toy ITM folder (its ViT is kept; no pretraining).
    ``checkpoint``: a :class:`TrainState` folder for stage 1 (a stopped run resumes).
    """
    from transformers import Blip2ForImageTextRetrieval

    torch.manual_seed(seed)
    tok = text_tokenizer(w)
    if init is not None:
        model = Blip2ForImageTextRetrieval.from_pretrained(init)
    else:
        model = Blip2ForImageTextRetrieval(blip2_config(qformer_vocab=len(tok), w=w))
        with torch.no_grad():
            model.query_tokens.normal_(0, 0.02)
        pretrain_vision(model.vision_model, seed=seed, steps=vision_steps, pool=vision_pool, w=w, log=log)
    scene_list, pix = _pool(16_000, seed + 1, log, w)
    spec = {"tier": getattr(w, "NAME", "toy"), "init": None if init is None else str(init)}
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
        w=w,
        log=log,
    )
    model.eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    image_processor(w).save_pretrained(out)
    return out


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


def sft_text(scene: Any, rng: random.Random, p_terse: float = 0.7, w: World = sc) -> str:
    """The SFT caption mix: terse with probability ``p_terse``, else a description with some detail."""
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
    w: World = sc,
    log: Log = print,
) -> tuple[Path, Path]:
    """Stage 2 (Q-Former + OPT on every detail level, plus text-only LM batches), then SFT with OPT frozen.

    The OPT of stage 2 is saved as the toy reference LM; the captioner keeps it frozen and
    its Q-Former, query tokens and projection are fine-tuned on the mostly-terse SFT mix.
    """
    from transformers import Blip2ForConditionalGeneration, Blip2ForImageTextRetrieval

    torch.manual_seed(seed)
    rng = random.Random(seed + 2)
    tok = causal_tokenizer(w)
    image_id = tok.convert_tokens_to_ids("<image>")
    model = Blip2ForConditionalGeneration(blip2_config(qformer_vocab=None, lm_tokenizer=tok, w=w))
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
    scene_list, pix = _pool(16_000, seed + 2, log, w)
    lm = model.language_model

    def run(
        steps: int, params: list[torch.nn.Parameter], lr: float, text_fn, text_only: bool, tag: str
    ) -> None:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        t0 = time.time()
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr * _schedule(step, steps, 30)
            idx = torch.randint(len(scene_list), (batch,)).tolist()
            texts = [text_fn(scene_list[i]) for i in idx]
            b = _caption_batch(tok, texts, N_QUERY, image_id)
            out = model(pixel_values=normalise(pix[idx]), **b)
            loss = out.loss
            if text_only:  # the same LM also learns the language without the visual prefix
                t = _caption_batch(tok, [_train_text(scene_list[i], rng, 0.3, w) for i in idx], 0, image_id)
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
    run(stage2_steps, stage2, 1e-3, lambda s: _train_text(s, rng, 0.4, w), True, "stage2")
    model.eval()
    lm.save_pretrained(out_lm)
    tok.save_pretrained(out_lm)
    model.train()
    lm.requires_grad_(False)
    sft = [p for n, p in model.named_parameters() if p.requires_grad]
    run(sft_steps, sft, 5e-4, lambda s: sft_text(s, rng, p_terse, w), False, "sft")
    model.eval()
    model.save_pretrained(out_captioner)
    tok.save_pretrained(out_captioner)
    image_processor(w).save_pretrained(out_captioner)
    return out_lm, out_captioner

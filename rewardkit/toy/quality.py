"""The toy world's quality bars, measured through the public loaders on fresh held-out scenes."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardkit.toy.evaluation import caption_quality, eval_set, evaluator, toy_clip_recall

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier

BARS = {
    "clip_r1_full": (">=", 0.95),
    "clip_r1_terse": ("<=", 0.10),
    "itm_prefers_true": (">=", 0.95),
    "ref_prefers_grammatical": (">=", 0.95),
    "captioner_beam_r1": ("<=", 0.15),
    "captioner_beam_grammatical": (">=", 0.95),
    "captioner_sample_detail_share": (">=", 0.25),
    "captioner_detail_correct_size": (">=", 0.60),
    "captioner_detail_correct_position": (">=", 0.60),
    "captioner_detail_correct_others": (">=", 0.60),
    "captioner_detail_correct_background": (">=", 0.60),
}
"""Quality bars of the toy world (issue: toy world, item 4)."""

HARD_BARS = {
    "clip_r1_full": (">=", 0.90),
    "clip_r1_terse": ("<=", 0.10),
    "itm_prefers_true": (">=", 0.90),
    "ref_prefers_grammatical": (">=", 0.95),
    "captioner_beam_r1": ("<=", 0.15),
    "captioner_beam_grammatical": (">=", 0.95),
    "captioner_sample_detail_share": (">=", 0.25),
    "captioner_detail_correct_size": (">=", 0.60),
    "captioner_detail_correct_texture": (">=", 0.50),
    "captioner_detail_correct_position": (">=", 0.60),
    "captioner_detail_correct_others": (">=", 0.50),
    "captioner_detail_correct_relations": (">=", 0.50),
    "captioner_detail_correct_background": (">=", 0.60),
}
"""Quality bars of the toy-hard tier, measured on its compositional split: the toy bars, the
evaluator's and the ITM's at 0.90 and the hardest details (fills, other objects, relations) at 0.50."""


Log = Callable[[str], None]

__all__ = ["BARS", "HARD_BARS", "measure_all", "toy_clip_recall"]


def measure_clip(
    scene_list: list[Any], tier: ToyTier, root: Path | None = None, name: str = "clip"
) -> dict[str, float]:
    """R@1 of full descriptions and of terse captions (``name``: the CLIP's folder in ``root``, default the tier's weights)."""
    w = tier.world()
    clip = evaluator(tier, root, name)
    images = [w.render(s) for s in scene_list]
    return {
        "clip_r1_full": toy_clip_recall([w.full(s) for s in scene_list], images, clip)["R@1"],
        "clip_r1_terse": toy_clip_recall([w.terse(s) for s in scene_list], images, clip)["R@1"],
    }


def measure_itm(
    scene_list: list[Any], seed: int, tier: ToyTier, root: Path | None = None
) -> dict[str, float]:
    """Share of scenes whose true full description outscores a one-attribute-changed one (the tier's hard negative)."""
    from rewardkit.backends.blip2_itm import Blip2ITMBackend

    w = tier.world()
    rng = random.Random(seed)
    itm = Blip2ITMBackend(
        str((root or tier.weights) / "itm"), device="cpu", batch_size=128, max_length=w.ITM_MAX_LENGTH
    )
    images = [w.render(s) for s in scene_list]
    true = itm.itm_logits(images, [w.full(s) for s in scene_list])
    false = itm.itm_logits(images, [w.full(w.corrupt(s, rng)) for s in scene_list])
    return {"itm_prefers_true": float((true > false).float().mean())}


def measure_ref(
    scene_list: list[Any], seed: int, tier: ToyTier, root: Path | None = None
) -> dict[str, float]:
    """Share of descriptions with a higher mean log-prob than the same words shuffled."""
    from rewardkit.backends.causal_lm import CausalLMBackend

    w = tier.world()
    rng = random.Random(seed)
    lm = CausalLMBackend(str((root or tier.weights) / "opt"), device="cpu", batch_size=128)
    texts = [w.describe(s, rng, **w.random_detail(rng)) for s in scene_list]
    keep = [t for t in texts if len(set(t.split())) > 2]
    shuffled = []
    for t in keep:
        words = t.split()
        while True:
            rng.shuffle(words)
            if " ".join(words) != t:
                break
        shuffled.append(" ".join(words))
    a, b = lm.mean_logprob(keep), lm.mean_logprob(shuffled)
    return {"ref_prefers_grammatical": float((a > b).float().mean())}


def measure_captioner(
    scene_list: list[Any], seed: int, tier: ToyTier, root: Path | None = None
) -> dict[str, Any]:
    """Beam captions (VLRM Table 2 settings): grammar and CLIP R@1; T=1 samples: detail share and accuracy.

    Both measured by :func:`rewardkit.toy.evaluation.caption_quality`.
    """
    import torch

    from rewardkit.backends.blip2_captioner import Blip2Captioner

    w = tier.world()
    root = root or tier.weights
    cap = Blip2Captioner(str(root / "captioner"), device="cpu", batch_size=100)
    images = [w.render(s) for s in scene_list]
    beam = cap.caption(images)
    torch.manual_seed(seed)
    samples = cap.caption(images, do_sample=True)
    clip = evaluator(tier, root)
    qb = caption_quality(beam, scene_list, images, tier, clip=clip)
    qs = caption_quality(samples, scene_list, images, tier, clip=clip)
    out: dict[str, Any] = {
        "captioner_beam_r1": qb["R@1"],
        "captioner_beam_grammatical": qb["grammatical"],
        "captioner_sample_r1": qs["R@1"],
        "captioner_sample_grammatical": qs["grammatical"],
        "captioner_beam_main_correct": qb["main_correct"],
    }
    for name, q in (("beam", qb), ("sample", qs)):
        out[f"captioner_{name}_claim_precision"] = q["claim_precision"]
        out[f"captioner_{name}_claim_recall"] = q["claim_recall"]
    out["captioner_sample_detail_share"] = qs["detail_share"]
    for kind in w.DETAILS:
        out[f"captioner_detail_correct_{kind}"] = qs[f"correct_{kind}"]
        out[f"captioner_detail_stated_{kind}"] = qs[f"stated_{kind}"]
    out["examples"] = [
        {"terse": w.terse(s), "beam": b, "sample": x} for s, b, x in list(zip(scene_list, beam, samples))[:5]
    ]
    return out


def measure_all(
    tier: ToyTier,
    n: int = 1000,
    seed: int = 1000,
    root: Path | None = None,
    log: Log = print,
    *,
    unseen: bool = False,
    scene_list: list[Any] | None = None,
) -> dict[str, Any]:
    """Every quality bar of ``tier`` on ``n`` fresh scenes from ``seed``; ``passed`` says which bars hold.

    With ``unseen``, also the overlap of the set with every training pool and every bar again on
    the part no model saw in training (``res["unseen"]``); R@1 there ranks among fewer images.
    A tier whose evaluation scenes come from a compositional split (toy-hard), which no training
    pool can hold, reports its overlap and measures the bars once.
    """
    w = tier.world()
    scene_list = eval_set(tier, n, seed)[0] if scene_list is None else scene_list
    res: dict[str, Any] = {"n": len(scene_list), "seed": seed}
    if w.COMPOSITIONAL:
        from rewardkit.toy.overlap import overlap_report

        res["overlap"] = overlap_report(scene_list, tier)
    elif unseen:
        from rewardkit.toy.overlap import overlap_report, seen_by

        res["overlap"] = overlap_report(scene_list, tier)
        fresh = [s for s, seen in zip(scene_list, seen_by(scene_list, tier)["any"]) if not seen]
        log(f"{len(fresh)} of {len(scene_list)} scenes unseen in training")
        res["unseen"] = measure_all(tier, seed=seed, root=root, log=log, scene_list=fresh)
    for name, fn in (
        ("clip", lambda: measure_clip(scene_list, tier, root)),
        *(
            [("judge", lambda: _judge(measure_clip(scene_list, tier, root, "judge")))]
            if "judge" in tier.models
            else []
        ),
        ("itm", lambda: measure_itm(scene_list, seed, tier, root)),
        ("ref", lambda: measure_ref(scene_list, seed, tier, root)),
        ("captioner", lambda: measure_captioner(scene_list, seed, tier, root)),
    ):
        res.update(fn())
        log(f"measured {name}")
    res["passed"] = {k: _holds(res.get(k), op, v) for k, (op, v) in tier.quality_bars().items()}
    return res


def _judge(clip: dict[str, float]) -> dict[str, float]:
    """The held-out judge's CLIP measures, renamed ``judge_r1_full`` / ``judge_r1_terse``."""
    return {k.replace("clip_", "judge_", 1): v for k, v in clip.items()}


def _holds(value: Any, op: str, bar: float) -> bool:
    if not isinstance(value, float) or value != value:
        return False
    return value >= bar if op == ">=" else value <= bar

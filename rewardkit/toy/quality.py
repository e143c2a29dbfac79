"""The toy world's quality bars, measured through the public loaders on fresh held-out scenes."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardkit.toy import scenes as sc
from rewardkit.toy.models import model_dir

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


def bars(w: Any = sc) -> dict[str, tuple[str, float]]:
    """The quality bars of a tier."""
    return BARS if w is sc else HARD_BARS


Log = Callable[[str], None]


def held_out(n: int, seed: int, w: Any = sc) -> list[Any]:
    """Evaluation scenes with distinct full descriptions (toy-hard: its compositional split); training pools use seeds 0-3, so evaluate with seeds >= 1000."""
    return w.distinct_scenes(n, seed)


def _clip(root: Path | None, w: Any = sc, name: str | None = None) -> Any:
    """A tier's CLIP (its evaluator): ``clip`` from the tier's weights, or the folder ``name``."""
    from rewardkit.backends.open_clip import OpenCLIPBackend
    from rewardkit.toy.models import weights_dir

    name = name or "clip"
    return OpenCLIPBackend(
        f"local-dir:{model_dir(name, root or weights_dir(w))}", device="cpu", batch_size=256
    )


def toy_clip_recall(captions: list[str], images: list[Any], clip: Any) -> dict[str, float]:
    """Text-to-image CLIP Recall of captions[i] against images (the evaluator of the toy preset)."""
    from rewardkit.functional import clip_recall

    img = clip.encode_images(images)
    txt = clip.encode_texts(captions)
    return clip_recall(txt @ img.T)


def measure_clip(
    scene_list: list[Any], root: Path | None = None, w: Any = sc, name: str = "clip"
) -> dict[str, float]:
    """R@1 of full descriptions and of terse captions (``name``: the CLIP's folder in the tier's weights)."""
    from rewardkit.backends.open_clip import OpenCLIPBackend
    from rewardkit.toy.models import weights_dir

    clip = OpenCLIPBackend(
        f"local-dir:{model_dir(name, root or weights_dir(w))}", device="cpu", batch_size=256
    )
    images = [w.render(s) for s in scene_list]
    return {
        "clip_r1_full": toy_clip_recall([w.full(s) for s in scene_list], images, clip)["R@1"],
        "clip_r1_terse": toy_clip_recall([w.terse(s) for s in scene_list], images, clip)["R@1"],
    }


def measure_itm(scene_list: list[Any], seed: int, root: Path | None = None, w: Any = sc) -> dict[str, float]:
    """Share of scenes whose true full description outscores a one-attribute-changed one."""
    from rewardkit.backends.blip2_itm import Blip2ITMBackend
    from rewardkit.toy.models import corrupter, weights_dir

    rng = random.Random(seed)
    corrupt = corrupter(w)
    itm = Blip2ITMBackend(
        str(model_dir("itm", root or weights_dir(w))),
        device="cpu",
        batch_size=128,
        max_length=64 if w is sc else 96,
    )
    images = [w.render(s) for s in scene_list]
    true = itm.itm_logits(images, [w.full(s) for s in scene_list])
    false = itm.itm_logits(images, [w.full(corrupt(s, rng)) for s in scene_list])
    return {"itm_prefers_true": float((true > false).float().mean())}


def measure_ref(scene_list: list[Any], seed: int, root: Path | None = None, w: Any = sc) -> dict[str, float]:
    """Share of descriptions with a higher mean log-prob than the same words shuffled."""
    from rewardkit.backends.causal_lm import CausalLMBackend
    from rewardkit.toy.models import weights_dir

    rng = random.Random(seed)
    lm = CausalLMBackend(str(model_dir("opt", root or weights_dir(w))), device="cpu", batch_size=128)
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


def detail_shares(captions: list[str], scene_list: list[Any], w: Any = sc) -> dict[str, float]:
    """Share of captions with detail beyond the terse caption, and per kind the share of stated detail that is right."""
    reports = [w.detail_report(c, s) for c, s in zip(captions, scene_list)]
    out = {
        "captioner_sample_detail_share": sum(any(r[k] is not None for k in w.DETAILS) for r in reports)
        / len(reports)
    }
    for kind in w.DETAILS:
        stated = [r[kind] for r in reports if r[kind] is not None]
        out[f"captioner_detail_correct_{kind}"] = sum(stated) / len(stated) if stated else float("nan")
        out[f"captioner_detail_stated_{kind}"] = len(stated) / len(reports)
    return out


def measure_captioner(
    scene_list: list[Any], seed: int, root: Path | None = None, log: Log = print, w: Any = sc
) -> dict[str, Any]:
    """Beam captions (VLRM Table 2 settings): grammar and toy-CLIP R@1; T=1 samples: detail share and accuracy."""
    import torch

    from rewardkit.backends.blip2_captioner import Blip2Captioner
    from rewardkit.toy.models import weights_dir

    root = root or weights_dir(w)
    cap = Blip2Captioner(str(model_dir("captioner", root)), device="cpu", batch_size=100)
    images = [w.render(s) for s in scene_list]
    beam = cap.caption(images)
    torch.manual_seed(seed)
    samples = cap.caption(images, do_sample=True)
    clip = _clip(root, w)
    out: dict[str, Any] = {
        "captioner_beam_r1": toy_clip_recall(beam, images, clip)["R@1"],
        "captioner_beam_grammatical": sum(map(w.is_grammatical, beam)) / len(beam),
        "captioner_sample_r1": toy_clip_recall(samples, images, clip)["R@1"],
        "captioner_sample_grammatical": sum(map(w.is_grammatical, samples)) / len(samples),
        "captioner_beam_main_correct": sum(w.detail_report(c, s)["main"] for c, s in zip(beam, scene_list))
        / len(beam),
    }
    from rewardkit.toy.claims import claim_metrics

    for name, caps in (("beam", beam), ("sample", samples)):
        claims = claim_metrics(caps, scene_list, w)
        out[f"captioner_{name}_claim_precision"] = claims["claim_precision"]
        out[f"captioner_{name}_claim_recall"] = claims["claim_recall"]
    out.update(detail_shares(samples, scene_list, w))
    out["examples"] = [
        {"terse": w.terse(s), "beam": b, "sample": x} for s, b, x in list(zip(scene_list, beam, samples))[:5]
    ]
    return out


def measure_all(
    n: int = 1000,
    seed: int = 1000,
    root: Path | None = None,
    log: Log = print,
    *,
    unseen: bool = False,
    scene_list: list[Any] | None = None,
    w: Any = sc,
) -> dict[str, Any]:
    """Every quality bar on ``n`` fresh scenes from ``seed``; ``passed`` says which bars hold.

    With ``unseen``, also the overlap of the set with every training pool and every bar again on
    the part no model saw in training (``res["unseen"]``); R@1 there ranks among fewer images.
    The toy-hard tier (``w``) measures on its compositional split, which no training pool can
    hold: its overlap is reported and the bars are measured once.
    """
    scene_list = held_out(n, seed, w) if scene_list is None else scene_list
    res: dict[str, Any] = {"n": len(scene_list), "seed": seed}
    if w is not sc:
        from rewardkit.toy.overlap import overlap_report

        res["overlap"] = overlap_report(scene_list, w=w)
    elif unseen:
        from rewardkit.toy.overlap import overlap_report, seen_by

        res["overlap"] = overlap_report(scene_list)
        fresh = [s for s, seen in zip(scene_list, seen_by(scene_list)["any"]) if not seen]
        log(f"{len(fresh)} of {len(scene_list)} scenes unseen in training")
        res["unseen"] = measure_all(seed=seed, root=root, log=log, scene_list=fresh)
    for name, fn in (
        ("clip", lambda: measure_clip(scene_list, root, w)),
        ("itm", lambda: measure_itm(scene_list, seed, root, w)),
        ("ref", lambda: measure_ref(scene_list, seed, root, w)),
        ("captioner", lambda: measure_captioner(scene_list, seed, root, log, w)),
    ):
        res.update(fn())
        log(f"measured {name}")
    res["passed"] = {k: _holds(res.get(k), op, v) for k, (op, v) in bars(w).items()}
    return res


def _holds(value: Any, op: str, bar: float) -> bool:
    if not isinstance(value, float) or value != value:
        return False
    return value >= bar if op == ">=" else value <= bar

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

Log = Callable[[str], None]


def held_out(n: int, seed: int) -> list[sc.Scene]:
    """Evaluation scenes with distinct full descriptions; training pools use seeds 0-3, so evaluate with seeds >= 1000."""
    return sc.distinct_scenes(n, seed)


def _clip(root: Path | None) -> Any:
    from rewardkit.backends.open_clip import OpenCLIPBackend

    return OpenCLIPBackend(f"local-dir:{model_dir('clip', root)}", device="cpu", batch_size=256)


def toy_clip_recall(captions: list[str], images: list[Any], clip: Any) -> dict[str, float]:
    """Text-to-image CLIP Recall of captions[i] against images (the evaluator of the toy preset)."""
    from rewardkit.functional import clip_recall

    img = clip.encode_images(images)
    txt = clip.encode_texts(captions)
    return clip_recall(txt @ img.T)


def measure_clip(scene_list: list[sc.Scene], root: Path | None = None) -> dict[str, float]:
    """R@1 of full descriptions and of terse captions."""
    clip = _clip(root)
    images = [sc.render(s) for s in scene_list]
    return {
        "clip_r1_full": toy_clip_recall([sc.full(s) for s in scene_list], images, clip)["R@1"],
        "clip_r1_terse": toy_clip_recall([sc.terse(s) for s in scene_list], images, clip)["R@1"],
    }


def measure_itm(scene_list: list[sc.Scene], seed: int, root: Path | None = None) -> dict[str, float]:
    """Share of scenes whose true full description outscores a one-attribute-changed one."""
    from rewardkit.backends.blip2_itm import Blip2ITMBackend
    from rewardkit.toy.models import corrupt

    rng = random.Random(seed)
    itm = Blip2ITMBackend(str(model_dir("itm", root)), device="cpu", batch_size=128, max_length=64)
    images = [sc.render(s) for s in scene_list]
    true = itm.itm_logits(images, [sc.full(s) for s in scene_list])
    false = itm.itm_logits(images, [sc.full(corrupt(s, rng)) for s in scene_list])
    return {"itm_prefers_true": float((true > false).float().mean())}


def measure_ref(scene_list: list[sc.Scene], seed: int, root: Path | None = None) -> dict[str, float]:
    """Share of descriptions with a higher mean log-prob than the same words shuffled."""
    from rewardkit.backends.causal_lm import CausalLMBackend

    rng = random.Random(seed)
    lm = CausalLMBackend(str(model_dir("opt", root)), device="cpu", batch_size=128)
    texts = [sc.describe(s, rng, **sc.random_detail(rng)) for s in scene_list]
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


def detail_shares(captions: list[str], scene_list: list[sc.Scene]) -> dict[str, float]:
    """Share of captions with detail beyond the terse caption, and per kind the share of stated detail that is right."""
    reports = [sc.detail_report(c, s) for c, s in zip(captions, scene_list)]
    out = {
        "captioner_sample_detail_share": sum(any(r[k] is not None for k in sc.DETAILS) for r in reports)
        / len(reports)
    }
    for kind in sc.DETAILS:
        stated = [r[kind] for r in reports if r[kind] is not None]
        out[f"captioner_detail_correct_{kind}"] = sum(stated) / len(stated) if stated else float("nan")
        out[f"captioner_detail_stated_{kind}"] = len(stated) / len(reports)
    return out


def measure_captioner(
    scene_list: list[sc.Scene], seed: int, root: Path | None = None, log: Log = print
) -> dict[str, Any]:
    """Beam captions (VLRM Table 2 settings): grammar and toy-CLIP R@1; T=1 samples: detail share and accuracy."""
    import torch

    from rewardkit.backends.blip2_captioner import Blip2Captioner

    cap = Blip2Captioner(str(model_dir("captioner", root)), device="cpu", batch_size=100)
    images = [sc.render(s) for s in scene_list]
    beam = cap.caption(images)
    torch.manual_seed(seed)
    samples = cap.caption(images, do_sample=True)
    clip = _clip(root)
    out: dict[str, Any] = {
        "captioner_beam_r1": toy_clip_recall(beam, images, clip)["R@1"],
        "captioner_beam_grammatical": sum(map(sc.is_grammatical, beam)) / len(beam),
        "captioner_sample_r1": toy_clip_recall(samples, images, clip)["R@1"],
        "captioner_sample_grammatical": sum(map(sc.is_grammatical, samples)) / len(samples),
        "captioner_beam_main_correct": sum(sc.detail_report(c, s)["main"] for c, s in zip(beam, scene_list))
        / len(beam),
    }
    out.update(detail_shares(samples, scene_list))
    out["examples"] = [
        {"terse": sc.terse(s), "beam": b, "sample": x} for s, b, x in list(zip(scene_list, beam, samples))[:5]
    ]
    return out


def measure_all(
    n: int = 1000,
    seed: int = 1000,
    root: Path | None = None,
    log: Log = print,
    *,
    unseen: bool = False,
    scene_list: list[sc.Scene] | None = None,
) -> dict[str, Any]:
    """Every quality bar on ``n`` fresh scenes from ``seed``; ``passed`` says which bars hold.

    With ``unseen``, also the overlap of the set with every training pool and every bar again on
    the part no model saw in training (``res["unseen"]``); R@1 there ranks among fewer images.
    """
    scene_list = held_out(n, seed) if scene_list is None else scene_list
    res: dict[str, Any] = {"n": len(scene_list), "seed": seed}
    if unseen:
        from rewardkit.toy.overlap import overlap_report, seen_by

        res["overlap"] = overlap_report(scene_list)
        fresh = [s for s, seen in zip(scene_list, seen_by(scene_list)["any"]) if not seen]
        log(f"{len(fresh)} of {len(scene_list)} scenes unseen in training")
        res["unseen"] = measure_all(seed=seed, root=root, log=log, scene_list=fresh)
    for name, fn in (
        ("clip", lambda: measure_clip(scene_list, root)),
        ("itm", lambda: measure_itm(scene_list, seed, root)),
        ("ref", lambda: measure_ref(scene_list, seed, root)),
        ("captioner", lambda: measure_captioner(scene_list, seed, root, log)),
    ):
        res.update(fn())
        log(f"measured {name}")
    res["passed"] = {k: _holds(res.get(k), op, v) for k, (op, v) in BARS.items()}
    return res


def _holds(value: Any, op: str, bar: float) -> bool:
    if not isinstance(value, float) or value != value:
        return False
    return value >= bar if op == ">=" else value <= bar

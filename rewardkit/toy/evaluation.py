"""Caption quality on toy scenes: the one evaluation behind ``toy quality``, the A2C probe and benchmarks/toy_a2c.py.

Captions of a tier's scenes are measured against the generator's ground truth and the tier's
evaluator: text-to-image retrieval with the tier's CLIP (CLIP Recall, as in VLRM Table 2),
the share in the tier's grammar, detail stated and right (:func:`detail_report` of the tier's
scene module), exact claim precision and recall (:mod:`rewardkit.toy.claims`) and, given the
models, the reference LM's mean log-prob, ITC retrieval and the VLRM penalties' rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


def eval_set(tier: ToyTier, n: int, seed: int) -> tuple[list[Any], list[Any]]:
    """``n`` evaluation scenes of ``seed`` (distinct full descriptions; toy-hard: its compositional split) and their pictures."""
    w = tier.world()
    scene_list = w.distinct_scenes(n, seed)
    return scene_list, [w.render(s) for s in scene_list]


def evaluator(tier: ToyTier, root: Path | None = None, name: str = "clip") -> Any:
    """A tier's CLIP (its evaluator): the folder ``name`` in ``root`` (default: the tier's shipped weights)."""
    from rewardkit.backends.open_clip import OpenCLIPBackend

    return OpenCLIPBackend(f"local-dir:{(root or tier.weights) / name}", device="cpu", batch_size=256)


def toy_clip_recall(captions: Sequence[str], images: Sequence[Any], clip: Any) -> dict[str, float]:
    """Text-to-image CLIP Recall of captions[i] against images (the evaluator of the toy presets)."""
    from rewardkit.functional import clip_recall

    img = clip.encode_images(list(images))
    txt = clip.encode_texts(list(captions))
    return clip_recall(txt @ img.T)


def detail_quality(captions: Sequence[str], scene_list: Sequence[Any], tier: ToyTier) -> dict[str, float]:
    """Detail of captions by the tier's detail report: stated at all, per kind stated and right, main object right.

    ``detail_share``: captions stating any detail kind; ``stated_K``: captions stating kind ``K``;
    ``correct_K``: of those, the share where it holds (NaN when none states it); ``main_correct``:
    the first named object is the main one; ``with_false_claim``: captions stating a wrong detail.
    """
    w = tier.world()
    reports = [w.detail_report(c, s) for c, s in zip(captions, scene_list, strict=True)]
    n = len(reports)
    out = {
        "main_correct": sum(bool(r["main"]) for r in reports) / n,
        "detail_share": sum(any(r[k] is not None for k in w.DETAILS) for r in reports) / n,
    }
    for kind in w.DETAILS:
        stated = [r[kind] for r in reports if r[kind] is not None]
        out[f"stated_{kind}"] = len(stated) / n
        out[f"correct_{kind}"] = sum(stated) / len(stated) if stated else float("nan")
    out["with_false_claim"] = sum(not all(r[k] for k in w.DETAILS if r[k] is not None) for r in reports) / n
    return out


def caption_quality(
    captions: Sequence[str],
    scene_list: Sequence[Any],
    images: Sequence[Any],
    tier: ToyTier,
    *,
    clip: Any,
    lm: Any | None = None,
    itm: Any | None = None,
    exempt: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Quality of ``captions[i]`` of ``scene_list[i]`` (pictured in ``images[i]``) in ``tier``.

    Always: ``R@1``, ``R@5``, ``MRR`` (text-to-image retrieval with ``clip``, the tier's evaluator:
    :func:`evaluator`), ``grammatical`` (share in the tier's grammar), ``mean_words``,
    ``claim_precision``, ``claim_recall`` (:func:`rewardkit.toy.claims.claim_metrics`) and
    :func:`detail_quality`'s keys. With ``lm`` (a ``CausalLMBackend``): ``ref_logprob``, the mean
    of the captions' mean token log-probs. With ``itm`` (a ``Blip2ITMBackend``): ``itc_R@1``,
    ``itc_R@5``, ``itc_MRR`` (ITC retrieval). With ``exempt`` (the preset's repeat-exempt words):
    ``bad_tokens``/``repeat_tokens`` (flagged word pieces per caption) and ``bad_rate``/``repeat_rate``
    (share of captions with any).

    >>> from rewardkit.registry import TIERS
    >>> tier = TIERS.get("toy")
    >>> scenes, images = eval_set(tier, 4, 1000)
    >>> q = caption_quality([tier.world().full(s) for s in scenes], scenes, images, tier, clip=evaluator(tier))
    >>> q["R@1"], q["grammatical"], q["claim_precision"]
    (1.0, 1.0, 1.0)
    """
    from rewardkit.functional import clip_recall
    from rewardkit.toy.claims import claim_metrics

    n = len(captions)
    if not n == len(scene_list) == len(images):
        raise ValueError(f"{n} captions for {len(scene_list)} scenes and {len(images)} images")
    r = toy_clip_recall(captions, images, clip)
    out: dict[str, Any] = {"R@1": r["R@1"], "R@5": r["R@5"], "MRR": r["MRR"]}
    out["grammatical"] = sum(map(tier.world().is_grammatical, captions)) / n
    out["mean_words"] = sum(len(c.split()) for c in captions) / n
    claims = claim_metrics(captions, scene_list, tier)
    out["claim_precision"], out["claim_recall"] = claims["claim_precision"], claims["claim_recall"]
    out.update(detail_quality(captions, scene_list, tier))
    if lm is not None:
        out["ref_logprob"] = float(lm.mean_logprob(list(captions)).mean())
    if itm is not None:
        r = clip_recall(itm.itc_matrix(list(images), list(captions)))
        out.update({"itc_R@1": r["R@1"], "itc_R@5": r["R@5"], "itc_MRR": r["MRR"]})
    if exempt is not None:
        from rewardkit.functional import bad_phrase_flags, repeat_flags, word_pieces

        pieces = [word_pieces(c) for c in captions]
        bad = [sum(bad_phrase_flags(p)) for p in pieces]
        rep = [sum(repeat_flags(p, exempt)) for p in pieces]
        out.update(
            {
                "bad_tokens": sum(bad) / n,
                "bad_rate": sum(b > 0 for b in bad) / n,
                "repeat_tokens": sum(rep) / n,
                "repeat_rate": sum(x > 0 for x in rep) / n,
            }
        )
    return out

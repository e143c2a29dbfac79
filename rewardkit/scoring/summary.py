"""The summary of a scored captions file: component means, CLIP Recall, CLIPScore, COCO and ESP metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardkit.errors import NonFiniteError
from rewardkit.scoring.stats import component_stats

if TYPE_CHECKING:
    from rewardkit.scoring.row import Row


def wants_corpus(row: Row, has_evaluator: bool) -> bool:
    """Whether the summary's corpus metrics need this row (an image for the evaluator, references, a style)."""
    return bool(row.references is not None or row.style or (has_evaluator and row.has_image))


TIED_WARNING_SHARE = 0.05
"""Share of captions with a tied ranking from which the summary warns (real CLIP similarities almost never tie)."""


def tie_warning(tied: int, n: int) -> str | None:
    """The summary's warning when many captions' true image ties with another (``None`` when few do)."""
    if not tied or tied < TIED_WARNING_SHARE * n:
        return None
    return (
        f"warning: {tied} of {n} captions tie with another image in CLIP similarity; ties count in the "
        "caption's favour (IC3), so CLIP Recall overstates retrieval: the evaluator may have collapsed "
        "(near-constant similarities)"
    )


def evaluator_metrics(
    evaluator: Any, rows: Sequence[Row], *, path: str | Path = "", strict: bool = False
) -> dict[str, Any]:
    """CLIP Recall (text -> image over the distinct images), CLIPScore and RefCLIPScore means.

    A row whose image cannot be read is left out (and counted in ``n_unreadable_images`` with the
    first one named by ``path``), unless ``strict``, when it raises :class:`RowError`.
    """
    import torch

    from rewardkit.functional import clip_recall, clip_score, ref_clip_score, tied_rankings
    from rewardkit.functional.clip import corpus_clip_score
    from rewardkit.functional.stats import nan_mean_std
    from rewardkit.metrics.clipscore import best_reference_cosines
    from rewardkit.metrics.clipscore import prompted as prompt_texts
    from rewardkit.scoring.row import RowError
    from rewardkit.scoring.row_images import load_row_image

    distinct: dict[str, int] = {}
    images: list[Any] = []
    with_image: list[Row] = []
    keys: list[str] = []
    unreadable: list[RowError] = []  # one per row left out: its image's error
    by_name: dict[Any, str | RowError] = {}  # each image read once: its key, or why it cannot be used
    for r in rows:
        if not r.has_image:
            continue
        name = r.image if r.image is not None else r.image_ref
        if name not in by_name:
            try:
                loaded = load_row_image(r, path)
            except RowError as exc:
                got: str | RowError = exc
            except OSError as exc:
                got = r.error(path, f"image {r.image_text!r} cannot be read ({exc.strerror or exc})")
            else:
                got = loaded.key
                if got not in distinct:
                    distinct[got] = len(distinct)
                    images.append(loaded.image)
            if strict and isinstance(got, RowError):
                raise got
            by_name[name] = got
        got = by_name[name]
        if isinstance(got, RowError):
            unreadable.append(got)
            continue
        with_image.append(r)
        keys.append(got)
    out: dict[str, Any] = {}
    if unreadable:
        out["n_unreadable_images"] = len(unreadable)
        out["_note"] = (
            f"CLIP Recall and CLIPScore leave out {len(unreadable)} rows whose image could not be read "
            f"(first: {unreadable[0]})"
        )
    if not with_image:
        return out
    img = evaluator.encode_images(images, list(distinct))
    txt = evaluator.encode_texts([r.caption for r in with_image])
    image_index = torch.tensor([distinct[k] for k in keys])
    sim = txt @ img.T
    broken = (~torch.isfinite(sim)).any(dim=1).nonzero().flatten().tolist()
    if broken:
        raise NonFiniteError(
            f"the evaluator gave NaN or infinite similarities for {len(broken)} of {len(with_image)} captions "
            f"(e.g. id {with_image[broken[0]].id!r}): CLIP Recall and CLIPScore left out"
        )
    out.update({"clip_recall": clip_recall(sim, image_index), "n_images": len(distinct)})
    # IC3 counts a tie in the caption's favour; the count shows when that flatters (a collapsed evaluator).
    out["clip_recall_ties"] = tied_rankings(sim, image_index)
    if len(distinct) < len(with_image):  # some image has several captions: IC3's per-image averaging too
        out["clip_recall_per_image"] = clip_recall(sim, image_index, average="image")
    out["CLIPScore_torchmetrics"] = corpus_clip_score((txt * img[image_index]).sum(-1), "torchmetrics")
    prompted = evaluator.encode_texts(prompt_texts([r.caption for r in with_image]))
    cos = (prompted * img[image_index]).sum(-1)
    if not bool(torch.isfinite(cos).all()):
        first = int((~torch.isfinite(cos)).nonzero()[0])
        out["notes"] = [
            f"the evaluator gave NaN or infinite similarities for {int((~torch.isfinite(cos)).sum())} prompted "
            f"captions (e.g. id {with_image[first].id!r}): CLIPScore and RefCLIPScore left out"
        ]
        return out
    cs = clip_score(cos)
    out["CLIPScore"] = float(cs.mean())
    ref_rows = [i for i, r in enumerate(with_image) if r.references]
    if ref_rows:
        best_t = best_reference_cosines(
            evaluator, prompted[ref_rows], [with_image[i].references for i in ref_rows]
        )
        if not bool(torch.isfinite(best_t).all()):
            first = ref_rows[int((~torch.isfinite(best_t)).nonzero()[0])]
            out["notes"] = [
                "the evaluator gave NaN or infinite similarities for the references of "
                f"{int((~torch.isfinite(best_t)).sum())} captions (e.g. id {with_image[first].id!r}): "
                "RefCLIPScore left out"
            ]
            return out
        out["RefCLIPScore"] = float(ref_clip_score(cs[ref_rows], best_t).mean())
        script = ref_clip_score(cs[ref_rows], best_t, definition="clipscore.py")
        out["RefCLIPScore_clipscore_py"] = nan_mean_std(script)[0]
    return out


CONVENTION_VARIANTS = ("CLIPScore_torchmetrics", "RefCLIPScore_clipscore_py")
"""Second conventions of CLIPScore / RefCLIPScore: in the summary JSON, in the table only with ``--all-conventions``."""


def add_weights(components: dict[str, dict[str, float]], weights: dict[str, float]) -> None:
    """Each component's weight and its share of ``total``: |weight x mean| over the sum of these."""
    contrib = {name: abs(w * components[name]["mean"]) for name, w in weights.items() if name in components}
    whole = math.fsum(contrib.values())
    for name, w in weights.items():
        if name in components:
            components[name]["weight"] = w
            components[name]["share"] = contrib[name] / whole if whole > 0 else math.nan


def summarise(
    rows: Sequence[Row],
    records: Sequence[dict[str, Any]],
    evaluator: Any,
    *,
    preset: str,
    captions: str | Path = "",
    weights: Mapping[str, float] | None = None,
    n_errors: int = 0,
    empty_captions: int = 0,
    notes: Sequence[str] = (),
    components: dict[str, dict[str, float]] | None = None,
    n_scored: int | None = None,
    strict: bool = False,
    java_tokenizer: bool = False,
    has_evaluator: bool | None = None,
    stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``OUT.summary.json`` content, from built objects only (no config, no preset loaded here).

    ``rows`` are the scored rows the corpus metrics need (those with an image, references or a
    style) with their OUT ``records``; ``components`` are the statistics of every OUT row
    (computed from ``records`` when not given), ``weights`` the reward's component weights (each
    component's share of ``total``). ``evaluator`` is the built CLIP evaluator of the preset named
    ``preset`` (CLIP Recall, CLIPScore, RefCLIPScore), or ``None`` when it has none
    (``has_evaluator=True`` with ``None``: it has one, but no row needs it). ``captions`` names
    the input in the summary and in image errors; with ``strict`` an unreadable image raises its
    :class:`~rewardkit.scoring.row.RowError` instead of being left out.
    """
    from rewardkit import __version__

    has_evaluator = evaluator is not None if has_evaluator is None else has_evaluator
    n_scored = len(records) if n_scored is None else n_scored
    stats = component_stats(records) if components is None else components
    add_weights(stats, dict(weights or {}))
    summary: dict[str, Any] = {
        "captions": str(captions),
        "preset": preset,
        "n_rows": n_scored + n_errors,
        "n_scored": n_scored,
        "n_errors": n_errors,
        "components": stats,
        "empty_captions": int(empty_captions),
        "notes": list(notes),
    }
    if summary["empty_captions"]:
        summary["notes"].append(
            f"{summary['empty_captions']} empty captions (blank or only invisible characters) scored as "
            "captions: a zero-length hypothesis for the COCO metrics"
        )
    with_image = [r for r in rows if r.has_image]
    if evaluator is not None and with_image:
        if stage is not None:
            stage("computing CLIP metrics (CLIP Recall, CLIPScore, RefCLIPScore)")
        try:
            metrics = evaluator_metrics(evaluator, with_image, path=captions, strict=strict)
            note = metrics.pop("_note", None)
            if note:
                summary["notes"].append(note)
            summary.update(metrics)
        except NonFiniteError as exc:
            summary["notes"].append(str(exc))
        note = tie_warning(summary.get("clip_recall_ties", 0), summary["n_scored"])
        if note:
            summary["notes"].append(note)
    elif not has_evaluator:
        summary["notes"].append(f"preset {preset!r} has no evaluator: CLIP Recall and CLIPScore left out")
    with_refs = {r.key: r for r in rows if r.references}
    empty = sum(1 for r in rows if r.references is not None and not r.references)
    if empty:
        summary["notes"].append(
            f"{empty} rows have an empty 'references' list: "
            + (
                "CIDEr-D and the COCO metrics use only the rows with references"
                if with_refs
                else "no row has references, so CIDEr-D and the COCO metrics are left out"
            )
        )
    if with_refs:
        from rewardkit.metrics.captioning import coco_metrics

        if stage is not None:
            stage("computing CIDEr-D / BLEU / METEOR / ROUGE-L")
        metrics, notes = coco_metrics(
            {k: r.caption for k, r in with_refs.items()},
            {k: r.references for k, r in with_refs.items()},
            java_tokenizer=java_tokenizer,
        )
        summary["coco"] = metrics
        summary["notes"].extend(notes)
    styled = [(r, rec) for r, rec in zip(rows, records) if r.style]
    if styled:
        from rewardkit.metrics.esp import esp_scores

        if stage is not None:
            stage("computing ESP metrics")
        srows = [r for r, _ in styled]
        plain = [
            {"caption": r.caption, "style": r.style, "references": r.references, "image": r.image_text}
            for r in srows
        ]
        per_caption: dict[str, list[float]] = {}
        for name in ("itm", "clipscore", "clip"):
            if any(name in rec for _, rec in styled):
                per_caption[name] = [
                    float(rec.get(name) if rec.get(name) is not None else math.nan) for _, rec in styled
                ]
        esp = esp_scores(plain, per_caption=per_caption, java_tokenizer=java_tokenizer)
        summary["notes"].extend(n for n in esp.pop("notes") if n not in summary["notes"])
        summary["esp"] = esp
    summary["rewardkit"] = __version__
    summary["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return summary

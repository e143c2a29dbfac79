"""The summary of a scored captions file: component means, CLIP Recall, CLIPScore, COCO and ESP metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rewardkit.errors import NonFiniteError
from rewardkit.functional.ptb import is_empty_caption
from rewardkit.scoring.rows import row_key

if TYPE_CHECKING:
    from rewardkit.scoring.pipeline import ScoreConfig, ScoreResult
    from rewardkit.scoring.rows import Row


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


def component_stats(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, std and count of every numeric field but ``id`` (NaN/None values skipped)."""
    names: list[str] = []
    for rec in records:
        names.extend(k for k in rec if k != "id" and k not in names)
    out = {}
    for name in names:
        vals = [
            float(r[name])
            for r in records
            if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)
        ]
        vals = [v for v in vals if not math.isnan(v)]
        if not vals:
            continue
        mean = math.fsum(vals) / len(vals)
        var = math.fsum((v - mean) ** 2 for v in vals) / (len(vals) - 1) if len(vals) > 1 else 0.0
        out[name] = {"mean": mean, "std": math.sqrt(var), "n": len(vals)}
    return out


def evaluator_metrics(evaluator: Any, rows: Sequence[Row]) -> dict[str, Any]:
    """CLIP Recall (text -> image over the distinct images), CLIPScore and RefCLIPScore means."""
    import torch

    from rewardkit.functional import clip_recall, clip_score, ref_clip_score, tied_rankings
    from rewardkit.functional.clip import corpus_clip_score
    from rewardkit.io.images import ImageError, load_image

    # Each image file read once by the one loader; a row whose image cannot be used (missing, corrupt,
    # extreme in shape) is left out of these metrics and counted, never the summary's failure.
    loaded: dict[Any, Any] = {}
    with_image, keys, images, unusable = [], [], [], 0
    distinct: dict[str, int] = {}
    for r in rows:
        if r.image is None:
            continue
        if r.image not in loaded:
            try:
                loaded[r.image] = load_image(r.image)
            except ImageError:
                loaded[r.image] = None
        got = loaded[r.image]
        if got is None:
            unusable += 1
            continue
        with_image.append(r)
        keys.append(got.key)
        if got.key not in distinct:
            distinct[got.key] = len(distinct)
            images.append(got.image)
    loaded.clear()
    if not with_image:
        return {"n_unusable_images": unusable} if unusable else {}
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
    out: dict[str, Any] = {"clip_recall": clip_recall(sim, image_index), "n_images": len(distinct)}
    if unusable:
        out["n_unusable_images"] = unusable
    # IC3 counts a tie in the caption's favour; the count shows when that flatters (a collapsed evaluator).
    out["clip_recall_ties"] = tied_rankings(sim, image_index)
    if len(distinct) < len(with_image):  # some image has several captions: IC3's per-image averaging too
        out["clip_recall_per_image"] = clip_recall(sim, image_index, average="image")
    out["CLIPScore_torchmetrics"] = corpus_clip_score((txt * img[image_index]).sum(-1), "torchmetrics")
    prompted = evaluator.encode_texts([f"A photo depicts {r.caption}" for r in with_image])
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
        flat = [f"A photo depicts {ref}" for i in ref_rows for ref in with_image[i].references]
        ref_emb = evaluator.encode_texts(flat)
        best, pos = [], 0
        for i in ref_rows:
            k = len(with_image[i].references)
            best.append((ref_emb[pos : pos + k] @ prompted[i]).max())
            pos += k
        best_t = torch.stack(best)
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
        out["RefCLIPScore_clipscore_py"] = (
            float(script[~script.isnan()].mean()) if (~script.isnan()).any() else math.nan
        )
    return out


def summarise(
    config: ScoreConfig, rows: Sequence[Row], records: Sequence[dict[str, Any]], result: ScoreResult
) -> dict[str, Any]:
    """The ``OUT.summary.json`` content."""
    from rewardkit import __version__
    from rewardkit.presets import build_evaluator, load_preset

    preset = load_preset(config.preset)
    summary: dict[str, Any] = {
        "captions": str(config.captions),
        "preset": preset.name,
        "n_rows": len(rows) + len(result.errors),
        "n_scored": len(records),
        "n_errors": len(result.errors),
        "components": component_stats(records),
        "empty_captions": sum(is_empty_caption(r.caption) for r in rows),
        "notes": [],
    }
    if summary["empty_captions"]:
        summary["notes"].append(
            f"{summary['empty_captions']} empty captions (blank or only invisible characters) scored as "
            "captions: a zero-length hypothesis for the COCO metrics"
        )
    evaluator = build_evaluator(
        preset, device=config.device, dtype=config.dtype, batch_size=config.batch_size
    )
    if evaluator is not None and rows:
        try:
            metrics = evaluator_metrics(evaluator, rows)
            summary["notes"].extend(metrics.pop("notes", []))
            summary.update(metrics)
        except NonFiniteError as exc:
            summary["notes"].append(str(exc))
        note = tie_warning(summary.get("clip_recall_ties", 0), summary["n_scored"])
        if note:
            summary["notes"].append(note)
    elif evaluator is None:
        summary["notes"].append(
            f"preset {preset.name!r} has no evaluator: CLIP Recall and CLIPScore left out"
        )
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

        metrics, notes = coco_metrics(
            {k: r.caption for k, r in with_refs.items()},
            {k: r.references for k, r in with_refs.items()},
            java_tokenizer=config.java_tokenizer,
        )
        summary["coco"] = metrics
        summary["notes"].extend(notes)
    if any(r.style for r in rows):
        from rewardkit.metrics.esp import esp_scores

        by_id = {row_key(rec["id"]): rec for rec in records}
        plain = [
            {"caption": r.caption, "style": r.style, "references": r.references, "image": r.image_text}
            for r in rows
        ]
        per_caption: dict[str, list[float]] = {}
        for name in ("itm", "clipscore", "clip"):
            if any(name in rec for rec in records):
                per_caption[name] = [
                    float(by_id[r.key].get(name) if by_id[r.key].get(name) is not None else math.nan)
                    for r in rows
                ]
        esp = esp_scores(plain, per_caption=per_caption, java_tokenizer=config.java_tokenizer)
        summary["notes"].extend(n for n in esp.pop("notes") if n not in summary["notes"])
        summary["esp"] = esp
    summary["rewardkit"] = __version__
    summary["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return summary

"""The in-memory scoring core: rows -> fixed batches -> a built reward's components -> OUT records.

No files here: ``rewardkit score`` (:mod:`rewardkit.scoring.pipeline`) streams a captions file
through :func:`score_batch` batch by batch, and ``rewardkit bench`` scores the rows it holds with
:func:`score_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardkit.scoring.row import Row


def records(
    rows: Sequence[Row], values: dict[str, Sequence[float]], *, echo: bool = True
) -> list[dict[str, Any]]:
    """OUT rows from a batch's component values: ``id``, then ``image`` and ``caption`` when ``echo``, then
    every component and ``total`` (NaN written as ``null``)."""
    columns = [(k, [None if v != v else v for v in vals]) for k, vals in values.items()]
    out = []
    for i, r in enumerate(rows):
        rec: dict[str, Any] = {"id": r.id}
        if echo:
            if r.image_text is not None:
                rec["image"] = r.image_text
            rec["caption"] = r.caption
        for k, col in columns:
            rec[k] = col[i]
        out.append(rec)
    return out


def score_batch(
    reward: Any, rows: Sequence[Row], images: Sequence[Any] | None, *, echo: bool = True
) -> list[dict[str, Any]]:
    """OUT records of one batch of good rows scored by a composed reward (``images`` aligned with ``rows``,
    ``None`` for text-only rewards).

    A batch-dependent component (Φ, VLRM Eq. 5) is computed over the batch's distinct images: a
    batch repeating an image is split into groups (:func:`rewardkit.rewards.groups.score_components_grouped`).
    """
    from rewardkit.backends.base import image_key
    from rewardkit.rewards.groups import score_components_grouped

    inputs: dict[str, Any] = {"references": [r.references for r in rows]}
    if all("ended_with_eos" in r.extra for r in rows):
        inputs["ended_with_eos"] = [bool(r.extra["ended_with_eos"]) for r in rows]
    if images is not None:
        inputs["images"] = list(images)
        inputs["image_keys"] = [image_key(im) for im in images]  # a prepared image keeps its own
    values = score_components_grouped(
        reward, [r.caption for r in rows], inputs.get("image_keys") or [r.id for r in rows], **inputs
    )
    return records(rows, values, echo=echo)


def score_rows(
    rows: Sequence[Row],
    reward: Any,
    batch_size: int = 32,
    *,
    echo: bool = True,
    workers: int | None = 0,
    path: str | Path = "rows",
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Score in-memory rows with a built reward in fixed batches of ``batch_size``, in order: one record each.

    The batches are the ones ``rewardkit score`` cuts from a file of the same rows, and images go
    through the same loader and model transforms (:class:`rewardkit.io.pipeline.ImagePipeline`,
    ``workers`` threads), so the records equal that command's OUT rows. A row whose image cannot
    be read raises its :class:`~rewardkit.scoring.row.RowError` (named by ``path`` and the row's line).
    ``progress`` is told the number of rows of each batch scored.

    >>> from rewardkit.rewards import BadPhrasePenalty, ComposedReward
    >>> reward = ComposedReward({"bad": BadPhrasePenalty(["an image of"])})
    >>> score_rows([Row(1, "a", "an image of a dog")], reward)
    [{'id': 'a', 'caption': 'an image of a dog', 'bad': 3.0, 'total': -3.0}]
    """
    from rewardkit.io.images import ImageError
    from rewardkit.io.pipeline import ImagePipeline, model_transforms
    from rewardkit.scoring.row_images import image_row_error, image_source

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    uses_images = bool(getattr(reward, "uses_images", False))
    batches = [list(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
    out: list[dict[str, Any]] = []
    if not uses_images:
        for batch in batches:
            out.extend(score_batch(reward, batch, None, echo=echo))
            if progress is not None:
                progress(len(batch))
        return out

    def source(row: Row) -> Any:
        return image_source(row) if row.has_image else None

    with ImagePipeline(model_transforms(reward), workers=workers) as pipe:
        for batch, prepared in pipe.map_batches(batches, source):
            images = []
            for row, im in zip(batch, prepared):
                if im is None:
                    raise row.error(path, "the row has no image")
                if isinstance(im, ImageError):
                    raise image_row_error(row, path, im)
                images.append(im)
            out.extend(score_batch(reward, batch, images, echo=echo))
            if progress is not None:
                progress(len(batch))
    return out

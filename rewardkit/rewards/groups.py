"""Batch-dependent rewards (Φ) on batches that repeat an image: computed on groups of distinct images."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any


def is_batch_dependent(reward: Any) -> bool:
    """Whether a reward, or any component of a composed one, depends on the other pairs of its batch."""
    comps = getattr(reward, "components", None)
    if comps is not None:
        return any(getattr(c.reward, "batch_dependent", False) for c in comps)
    return bool(getattr(reward, "batch_dependent", False))


def score_components_grouped(
    reward: Any, captions: Sequence[str], group_by: Sequence[Hashable], **inputs: Any
) -> dict[str, list[float]]:
    """``reward.score_components`` with batch-dependent components computed over groups of distinct images.

    The batch is split by :func:`rewardkit.functional.clip.occurrence_groups` of ``group_by`` (image keys: the ``j``-th caption of
    each image in group ``j``) when an image repeats and the reward is batch-dependent; every
    per-caption input (a list as long as ``captions``) is split alike and the values are put back at
    their captions. Without repeats it is one call. VLRM Eq. 5's Φ is a softmax over distinct images.
    """
    from rewardkit.functional.clip import occurrence_groups

    n = len(captions)
    groups = occurrence_groups(group_by)
    if len(groups) == 1 or not is_batch_dependent(reward):
        return reward.score_components(list(captions), **inputs)

    def part(value: Any, idx: list[int]) -> Any:
        return [value[i] for i in idx] if isinstance(value, (list, tuple)) and len(value) == n else value

    out: dict[str, list[float]] = {}
    for idx in groups:
        values = reward.score_components(
            [captions[i] for i in idx], **{k: part(v, idx) for k, v in inputs.items()}
        )
        for name, column in values.items():
            full = out.setdefault(name, [math.nan] * n)
            for i, v in zip(idx, column):
                full[i] = v
    return out

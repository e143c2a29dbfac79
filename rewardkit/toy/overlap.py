"""How much of a toy evaluation set the toy models saw in training: full descriptions shared with each training pool.

Every toy model trains on a seeded pool of scenes (``rewardkit.toy.models``): toy CLIP on
``scenes(16_000, 0)``, toy ITM on ``scenes(16_000, 1)``, the captioner (and the toy OPT, on its
captions) on ``scenes(16_000, 2)``, and the BLIP-2 vision encoder's pre-training on
``scenes(48_000, 3)``; A2C draws ``captions_per_step / samples_per_image`` scenes per step from
``Random(f"{seed}-{step}-{rank}")``. A scene counts as *seen* when its full description occurs in
a pool: it differs from a pool scene at most by sub-quadrant jitter.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from rewardkit.toy import scenes as sc

TRAINING_POOLS = {"clip": (16_000, 0), "itm": (16_000, 1), "captioner": (16_000, 2), "vision": (48_000, 3)}
"""Pool name -> (size, seed) of the shipped toy models' training scenes (seed 0 runs of ``toy train-models``)."""

HARD_TRAINING_POOLS = {
    "clip": (16_000, 0),
    "itm": (16_000, 1),
    "captioner": (16_000, 2),
    "vision": (24_000, 3),
}
"""The same for the toy-hard models (``toy train-models --tier hard``; ``hard.scenes`` seeds)."""


def training_pools(w: Any = sc) -> dict[str, tuple[int, int]]:
    """The training pools of a tier."""
    return TRAINING_POOLS if w is sc else HARD_TRAINING_POOLS


@cache
def pool_descriptions(name: str, w: Any = sc) -> frozenset[str]:
    """Full descriptions of one training pool."""
    n, seed = training_pools(w)[name]
    return frozenset(w.full(s) for s in w.scenes(n, seed))


@lru_cache(maxsize=8)
def a2c_descriptions(steps: int, images_per_step: int = 16, seed: int = 0, w: Any = sc) -> frozenset[str]:
    """Full descriptions of the scenes an A2C run drew (single process), as ``ImageSource`` draws them."""
    out = set()
    for step in range(steps):
        rng = random.Random(f"{seed}-{step}-0")
        out.update(w.full(w.sample_scene(rng)) for _ in range(images_per_step))
    return frozenset(out)


def seen_by(
    scene_list: Sequence[Any], pools: dict[str, frozenset[str]] | None = None, w: Any = sc
) -> dict[str, list[bool]]:
    """For every pool (and ``any``), whether each scene's full description occurs in it."""
    pools = pools or {name: pool_descriptions(name, w) for name in training_pools(w)}
    texts = [w.full(s) for s in scene_list]
    out = {name: [t in pool for t in texts] for name, pool in pools.items()}
    out["any"] = [any(out[name][i] for name in pools) for i in range(len(texts))]
    return out


def overlap_report(
    scene_list: Sequence[Any], pools: dict[str, frozenset[str]] | None = None, w: Any = sc
) -> dict[str, float]:
    """The share of an evaluation set's full descriptions found in each pool and in their union, and the unseen count."""
    seen = seen_by(scene_list, pools, w)
    n = max(1, len(scene_list))
    report = {name: sum(flags) / n for name, flags in seen.items()}
    report["n_unseen"] = float(sum(not f for f in seen["any"]))
    return report

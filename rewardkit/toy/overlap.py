"""How much of a toy evaluation set the toy models saw in training: full descriptions shared with each training pool.

Every toy model trains on a seeded pool of scenes (``rewardkit.toy.training``): toy CLIP on
``scenes(16_000, 0)``, toy ITM on ``scenes(16_000, 1)``, the captioner (and the toy OPT, on its
captions) on ``scenes(16_000, 2)``, and the BLIP-2 vision encoder's pre-training on
``scenes(48_000, 3)``; A2C draws ``captions_per_step / samples_per_image`` scenes per step from
``Random(f"{seed}-{step}-{rank}")``. A scene counts as *seen* when its full description occurs in
a pool: it differs from a pool scene at most by sub-quadrant jitter.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier

TRAINING_POOLS = {"clip": (16_000, 0), "itm": (16_000, 1), "captioner": (16_000, 2), "vision": (48_000, 3)}
"""Pool name -> (size, seed) of the shipped toy models' training scenes (seed 0 runs of ``toy train-models``)."""

HARD_TRAINING_POOLS = {
    "clip": (16_000, 0),
    "itm": (16_000, 1),
    "captioner": (16_000, 2),
    "vision": (24_000, 3),
    "judge": (16_000, 5),
}
"""The same for the toy-hard models (``toy train-models --tier hard``; ``hard.scenes`` seeds).

Each tier names its pools in the registry (``ToyTier.pools``; :meth:`ToyTier.training_pools`)."""


def pool_descriptions(name: str, tier: ToyTier) -> frozenset[str]:
    """Full descriptions of one of the tier's training pools."""
    n, seed = tier.training_pools()[name]
    return _pool_descriptions(tier.scenes, n, seed)


@cache
def _pool_descriptions(scenes: str, n: int, seed: int) -> frozenset[str]:
    w = importlib.import_module(scenes)
    return frozenset(w.full(s) for s in w.scenes(n, seed))


def a2c_descriptions(steps: int, tier: ToyTier, images_per_step: int = 16, seed: int = 0) -> frozenset[str]:
    """Full descriptions of the scenes an A2C run drew (single process), as ``ImageSource`` draws them."""
    return _a2c_descriptions(tier.scenes, steps, images_per_step, seed)


@lru_cache(maxsize=8)
def _a2c_descriptions(scenes: str, steps: int, images_per_step: int, seed: int) -> frozenset[str]:
    w = importlib.import_module(scenes)
    out = set()
    for step in range(steps):
        rng = random.Random(f"{seed}-{step}-0")
        out.update(w.full(w.sample_scene(rng)) for _ in range(images_per_step))
    return frozenset(out)


def seen_by(
    scene_list: Sequence[Any], tier: ToyTier, pools: dict[str, frozenset[str]] | None = None
) -> dict[str, list[bool]]:
    """For every pool (default: the tier's training pools) and ``any``, whether each scene's full description occurs in it."""
    pools = pools or {name: pool_descriptions(name, tier) for name in tier.training_pools()}
    texts = [tier.world().full(s) for s in scene_list]
    out = {name: [t in pool for t in texts] for name, pool in pools.items()}
    out["any"] = [any(out[name][i] for name in pools) for i in range(len(texts))]
    return out


def overlap_report(
    scene_list: Sequence[Any], tier: ToyTier, pools: dict[str, frozenset[str]] | None = None
) -> dict[str, float]:
    """The share of an evaluation set's full descriptions found in each pool and in their union, and the unseen count."""
    seen = seen_by(scene_list, tier, pools)
    n = max(1, len(scene_list))
    report = {name: sum(flags) / n for name, flags in seen.items()}
    report["n_unseen"] = float(sum(not f for f in seen["any"]))
    return report

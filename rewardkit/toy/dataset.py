"""Toy captions sets of any tier: rows (id, image, caption, terse, references, scene) and ``DIR/images/*.png``."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


def iter_set(tier: ToyTier, n: int, seed: int, n_refs: int = 5) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """``(id, scene, row)`` of a tier's captions file: caption (full), terse, references, scene (distinct).

    Ids are ``{tier.name}-{seed}-{index}`` (``toy-3-00000``, ``toy-hard-3-00000``); the scenes
    are the tier's evaluation scenes (``distinct_scenes``: toy-hard's compositional split).
    """
    w = tier.world()
    rng = random.Random(seed + 1_000_003)
    width = max(5, len(str(n - 1)))
    for i, scene in enumerate(w.distinct_scenes(n, seed)):
        sid = f"{tier.name}-{seed}-{i:0{width}d}"
        row = {
            "id": sid,
            "image": f"images/{sid}.png",
            "caption": w.full(scene),
            "terse": w.terse(scene),
            "references": w.references(scene, rng, n_refs),
            "scene": scene.to_dict(),
        }
        yield sid, scene, row


def make_set(
    n: int,
    seed: int,
    out: str | Path,
    tier: ToyTier,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Render ``n`` scenes of a tier from ``seed`` into ``out``; returns the captions file."""
    if n < 1:
        raise ValueError(f"--n must be at least 1, not {n}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    captions = out / "captions.jsonl"
    tmp = captions.with_name(captions.name + ".tmp")
    render = tier.world().render
    with open(tmp, "w", encoding="utf-8") as fh:
        for _, scene, row in iter_set(tier, n, seed):
            render(scene).save(out / row["image"], optimize=False)
            fh.write(json.dumps(row) + "\n")
            if progress is not None:
                progress(1)
    os.replace(tmp, captions)
    return captions

"""Writing toy captions sets: ``DIR/images/*.png`` and ``DIR/captions.jsonl``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardkit.toy import scenes as sc


def make_set(
    n: int,
    seed: int,
    out: str | Path,
    progress: Callable[[int], None] | None = None,
    world: Any = sc,
) -> Path:
    """Render ``n`` scenes of a tier (``world``: the scene module) from ``seed`` into ``out``; returns the captions file."""
    if n < 1:
        raise ValueError(f"--n must be at least 1, not {n}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    captions = out / "captions.jsonl"
    tmp = captions.with_name(captions.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for _, scene, row in world.iter_set(n, seed):
            world.render(scene).save(out / row["image"], optimize=False)
            fh.write(json.dumps(row) + "\n")
            if progress is not None:
                progress(1)
    os.replace(tmp, captions)
    return captions

"""Where the trainer's images come from: an :class:`ImageSource` gives the images of one step.

Two sources ship: :class:`ImageFiles` (a folder or the images a captions file names) and
:class:`SceneSampler` (scenes drawn and rendered on the fly by any object with ``sample_scene`` and
``render``, such as a toy tier's scene module). :func:`image_source` turns a config's ``data`` into
one; a toy tier's scene module is found through :data:`rewardkit.registry.TIERS`, so this package
imports no toy code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rewardkit.errors import RewardkitError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


class ImageSource(Protocol):
    """The images of a training step, deterministic in ``(step, rank)`` so a resumed run replays its data."""

    def batch(self, step: int, n: int, rank: int = 0) -> list[Any]: ...


def step_rng(seed: int, step: int, rank: int) -> random.Random:
    """The random stream of one step on one process (the same string seed every release has used)."""
    return random.Random(f"{seed}-{step}-{rank}")


class SceneSampler:
    """Scenes drawn with ``scenes.sample_scene(rng)`` and drawn as pictures with ``scenes.render``.

    >>> class Dots:
    ...     def sample_scene(self, rng): return rng.randint(0, 9)
    ...     def render(self, scene): return f"<{scene} dots>"
    >>> SceneSampler(Dots(), seed=0).batch(3, 2) == SceneSampler(Dots(), seed=0).batch(3, 2)
    True
    """

    def __init__(self, scenes: Any, seed: int) -> None:
        self.scenes, self.seed = scenes, seed

    def batch(self, step: int, n: int, rank: int = 0) -> list[Any]:
        rng = step_rng(self.seed, step, rank)
        return [self.scenes.render(self.scenes.sample_scene(rng)) for _ in range(n)]


class ImageFiles:
    """A fixed list of image files, ``n`` of them drawn per step (without replacement while there are enough)."""

    def __init__(self, files: Sequence[Path], seed: int) -> None:
        self.files, self.seed = list(files), seed

    @classmethod
    def from_path(cls, data: str, seed: int) -> ImageFiles:
        """The images under the folder ``data``, or the distinct images its captions file names."""
        path = Path(data)
        files: list[Path] = []
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            from rewardkit.scoring.rows import read_rows

            rows, _ = read_rows(path)
            files = list(dict.fromkeys(r.image for r in rows if r.image is not None))
        if not files:
            raise RewardkitError(f"no training images found in {data!r}")
        return cls(files, seed)

    def batch(self, step: int, n: int, rank: int = 0) -> list[Any]:
        from rewardkit.io.images import load_image

        rng = step_rng(self.seed, step, rank)
        chosen = rng.sample(self.files, n) if n <= len(self.files) else rng.choices(self.files, k=n)
        return [load_image(p, name=f"image {str(p)!r}").image for p in chosen]


def image_source(data: str, seed: int) -> ImageSource:
    """The source ``data`` names: a toy tier (its scene module's training draws), else a folder or captions file."""
    from rewardkit.registry import TIERS

    if data in TIERS:
        return SceneSampler(TIERS.get(data).world(), seed)
    return ImageFiles.from_path(data, seed)

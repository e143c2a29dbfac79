"""A preset (or one of its components) as a scorer of (caption, image, references) batches for reward benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardkit.bench.truncation import count_truncation, text_windows, truncation_summary
from rewardkit.errors import RewardkitError


class RewardScorer:
    """A preset's total reward, or one of its components (``PRESET:COMPONENT``), on (caption, image, references) batches.

    Counts, per component with a text window (CLIP's 77 tokens, BLIP-2 ITM's 32), how many captions and
    references it truncated and the share of their tokens it dropped (:attr:`truncation`).
    """

    def __init__(self, name: str, *, device: str = "auto", batch_size: int = 32) -> None:
        from rewardkit.presets import build_reward, load_preset

        preset, component = name, None
        head, sep, tail = name.rpartition(":")
        if sep and head:
            try:
                spec = load_preset(head)
            except RewardkitError:
                spec = None
            if spec is not None:
                names = [c.name for c in spec.components]
                if tail not in names:
                    from rewardkit.registry import did_you_mean

                    raise RewardkitError(
                        f"--reward {name}: preset {spec.name!r} has no component {tail!r}"
                        f"{did_you_mean(tail, names)}; its components: {', '.join(names)}"
                    )
                preset, component = head, tail
        self.name, self.component, self.batch_size = name, component, batch_size
        self.reward = build_reward(
            preset, only=[component] if component else None, device=device, batch_size=batch_size
        )
        self.weights = self.reward.weights
        self.windows = text_windows(self.reward)
        self._counts: dict[str, dict[str, int]] = {}

    def reset_truncation(self) -> None:
        """Start the truncation counts afresh (one benchmark's worth)."""
        self._counts = {}

    @property
    def truncation(self) -> dict[str, dict[str, Any]]:
        """Per windowed component: captions and references seen, truncated, and the share of tokens dropped."""
        return truncation_summary(self._counts, self.windows)

    def __call__(
        self,
        captions: Sequence[str],
        images: Sequence[Any],
        references: Sequence[list[str]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[float]:
        """One value per caption; images are paths, encoded bytes or PIL images, opened a batch at a time."""
        out: list[float] = []
        for lo in range(0, len(captions), self.batch_size):
            hi = min(lo + self.batch_size, len(captions))
            batch_images = open_images(images[lo:hi])
            inputs: dict[str, Any] = {"images": batch_images, "ended_with_eos": [True] * (hi - lo)}
            if references is not None:
                inputs["references"] = list(references[lo:hi])
            count_truncation(self._counts, self.windows, list(captions[lo:hi]), inputs.get("references"))
            values = self.reward.score_components(list(captions[lo:hi]), **inputs)
            out += values[self.component] if self.component else values["total"]
            if progress:
                progress(hi - lo)
        return out


def open_images(images: Sequence[Any]) -> list[Any]:
    """RGB PIL images from paths, encoded bytes (parquet cells) or PIL images, through the one image
    loader (:mod:`rewardkit.io.images`); each distinct path or byte string opened once. ``None`` stays
    ``None`` (text-only rewards are benchmarked without images)."""
    from rewardkit.io.images import load_image

    opened: dict[Any, Any] = {}
    out = []
    for i, im in enumerate(images):
        if isinstance(im, (str, Path, bytes)):
            if im not in opened:
                name = f"image {str(im)!r}" if not isinstance(im, bytes) else f"images[{i}]"
                opened[im] = load_image(im, name=name).image
            out.append(opened[im])
        elif im is None:
            out.append(None)
        else:
            out.append(load_image(im, name=f"images[{i}]").image)
    return out

"""Weighted sums of named reward components, with every component's value kept."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardkit.rewards.base import Reward


@dataclass(frozen=True)
class Component:
    """One named term of a composed reward: ``weight * reward``."""

    name: str
    reward: Reward
    weight: float


class ComposedReward(Reward):
    """total = sum of weight * value over components; NaN components are skipped (all NaN gives NaN).

    >>> from rewardkit.rewards import BadPhrasePenalty, RepeatPenalty
    >>> r = ComposedReward({"bad": BadPhrasePenalty(["an image of"]), "repeat": (RepeatPenalty(), -0.5)})
    >>> r.score_components(["an image of a dog and a dog"])
    {'bad': [3.0], 'repeat': [1.0], 'total': [-3.5]}
    """

    name = "total"

    def __init__(self, components: Mapping[str, Reward | tuple[Reward, float]] | Sequence[Component]) -> None:
        if isinstance(components, Mapping):
            built = []
            for key, value in components.items():
                reward, weight = value if isinstance(value, tuple) else (value, value.default_weight)
                built.append(Component(key, reward, float(weight)))
            components = built
        names = [c.name for c in components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate component names: {', '.join(duplicates)}")
        if "total" in names:
            raise ValueError("'total' is reserved for the weighted sum")
        if not components:
            raise ValueError("a composed reward needs at least one component")
        self.components: tuple[Component, ...] = tuple(components)

    @property
    def weights(self) -> dict[str, float]:
        return {c.name: c.weight for c in self.components}

    def score_components(self, captions: Sequence[str], **inputs: Any) -> dict[str, list[float]]:
        """Every component's values and their weighted ``total``, one value per caption."""
        values = {c.name: [float(v) for v in c.reward.score(captions, **inputs)] for c in self.components}
        for name, vals in values.items():
            if len(vals) != len(captions):
                raise ValueError(
                    f"component {name!r} returned {len(vals)} values for {len(captions)} captions"
                )
        totals = []
        for i in range(len(captions)):
            terms = [c.weight * values[c.name][i] for c in self.components]
            finite = [t for t in terms if not math.isnan(t)]
            totals.append(math.fsum(finite) if finite else math.nan)
        values["total"] = totals
        return values

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        return self.score_components(captions, **inputs)["total"]

    def __repr__(self) -> str:
        terms = " + ".join(f"{c.weight:g}*{c.name}" for c in self.components)
        return f"ComposedReward({terms})"

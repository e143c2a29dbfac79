"""Weighted sums of named reward components, with every component's value kept."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardkit.functional.assembly import weighted_total
from rewardkit.rewards.base import Reward
from rewardkit.rewards.inputs import completion_text, reward_inputs


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

    def __init__(
        self,
        components: Mapping[str, Reward | tuple[Reward, float]] | Sequence[Component],
        *,
        name: str = "total",
        eos_token_id: int | Sequence[int] | None = None,
        tokenizer: Any = None,
        image_column: str | None = None,
    ) -> None:
        self.name = name  # TRL logs a reward function as rewards/<name>
        self.image_column = image_column
        self.set_eos(eos_token_id, tokenizer)
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
        values["total"] = weighted_total(values, self.weights)
        return values

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        return self.score_components(captions, **inputs)["total"]

    def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        """TRL-style call (see :meth:`Reward.__call__`); each component's mean goes to TRL's ``log_metric`` as ``<name>/<component>``."""
        if completions is None:
            raise TypeError("completions is required")
        captions = [completion_text(c) for c in completions]
        inputs = reward_inputs(kwargs, len(captions), eos=self.eos, image_column=self.image_column)
        values = self.score_components(captions, **inputs)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for c in self.components:
                finite = [v for v in values[c.name] if not math.isnan(v)]
                if finite:
                    log_metric(f"{self.name}/{c.name}", math.fsum(finite) / len(finite))
        return values["total"]

    def __repr__(self) -> str:
        terms = " + ".join(f"{c.weight:g}*{c.name}" for c in self.components)
        return f"ComposedReward({terms}, name={self.name!r})"

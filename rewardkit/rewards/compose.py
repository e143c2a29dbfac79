"""Weighted sums of named reward components, with every component's value kept."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardkit.errors import ArgumentError, RewardkitError
from rewardkit.functional.arguments import column_list
from rewardkit.functional.assembly import weighted_total
from rewardkit.functional.stats import nan_mean_std
from rewardkit.rewards.base import Reward, checked_inputs
from rewardkit.rewards.inputs import TRAINER_ONLY, completion_text, completions_list, reward_inputs


@dataclass(frozen=True)
class Component:
    """One named term of a composed reward: ``weight * reward``."""

    name: str
    reward: Reward
    weight: float
    spec: Any = field(default=None, compare=False)
    """The preset entry it was built from (:class:`rewardkit.registry.ComponentSpec`: reward, options), if any."""
    model: Any = field(default=None, compare=False)
    """The model it was built with (:class:`rewardkit.registry.ModelSpec`), if any: provenance without a lookup."""


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
                reward, weight = value if isinstance(value, tuple) and len(value) == 2 else (value, None)
                if not isinstance(reward, Reward):
                    raise ArgumentError(
                        f"component {key!r} must be a rewardkit Reward (e.g. BadPhrasePenalty(), or a preset's "
                        f"reward from from_preset), not {type(reward).__name__}; a TRL-style function is passed "
                        "to the trainer beside the reward, not inside it"
                    )
                built.append(Component(key, reward, reward.default_weight if weight is None else weight))
            components = built
        for c in components:
            w = c.weight
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise ArgumentError(f"component {c.name!r}: weight must be a finite number, not {w!r}")
        components = [Component(c.name, c.reward, float(c.weight), c.spec, c.model) for c in components]
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
    def uses_images(self) -> bool:  # type: ignore[override]
        return any(c.reward.uses_images for c in self.components)

    @property
    def weights(self) -> dict[str, float]:
        return {c.name: c.weight for c in self.components}

    def score_components(self, captions: Sequence[str], **inputs: Any) -> dict[str, list[float]]:
        """Every component's values and their weighted ``total``, one value per caption.

        A component's ``None`` (TRL's "does not apply to this row") is NaN: the total skips it.
        """
        captions, inputs = checked_inputs(captions, inputs, self.name)
        return self._score_each(captions, {c.name: inputs for c in self.components})

    def _score_each(
        self, captions: list[str], inputs: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, list[float]]:
        values = {
            c.name: _as_values(c.name, c.reward.score(captions, **inputs[c.name]), len(captions))
            for c in self.components
        }
        values["total"] = weighted_total(values, self.weights)
        return values

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        return self.score_components(captions, **inputs)["total"]

    def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        """TRL-style call (see :meth:`Reward.__call__`); each component's mean goes to TRL's ``log_metric`` as ``<name>/<component>``.

        Each component reads the call with its own EOS id and image column when it has them, the
        composition's otherwise (``ComposedReward({"noeos": NoEOSPenalty(eos_token_id=5)})`` reads
        ``completion_ids`` with 5). Means skip NaN, as TRL's do.
        """
        completions = completions_list(completions, self.name)
        captions = [completion_text(c) for c in completions]
        # read every column once: components with different settings each build inputs from them
        kwargs = {k: v if k in TRAINER_ONLY else column_list(v, k, column=k) for k, v in kwargs.items()}
        per_setting: dict[tuple[Any, Any], dict[str, Any]] = {}
        inputs = {}
        for c in self.components:
            eos = c.reward.eos if c.reward.eos is not None else self.eos
            column = (c.reward.image_column or self.image_column) if c.reward.uses_images else None
            if (eos, column) not in per_setting:
                per_setting[(eos, column)] = reward_inputs(
                    kwargs, len(captions), eos=eos, image_column=column
                )
            inputs[c.name] = per_setting[(eos, column)]
        captions, _ = checked_inputs(captions, {}, self.name)
        values = self._score_each(captions, inputs)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for c in self.components:
                mean, _, n = nan_mean_std(values[c.name])
                if n:
                    log_metric(f"{self.name}/{c.name}", mean)
        return values["total"]

    def __repr__(self) -> str:
        terms = " + ".join(f"{c.weight:g}*{c.name}" for c in self.components)
        return f"ComposedReward({terms}, name={self.name!r})"


def _as_values(name: str, values: Any, n: int) -> list[float]:
    """A component's output as floats: ``None`` (for the whole batch or a row) is NaN."""
    if values is None:
        return [math.nan] * n
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise RewardkitError(
            f"component {name!r} returned {type(values).__name__}, not one value per caption"
        )
    if len(values) != n:
        raise RewardkitError(f"component {name!r} returned {len(values)} values for {n} captions")
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(math.nan)
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise RewardkitError(
                f"component {name!r} returned {type(v).__name__} for caption {i}, not a number or None"
            ) from None
    return out

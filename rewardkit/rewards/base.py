"""The reward protocol: a named, picklable callable from captions (plus inputs) to floats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from rewardkit.rewards.inputs import completion_text, eos_ids, reward_inputs

__all__ = ["Reward", "completion_text"]


class Reward(ABC):
    """Scores a batch of captions; higher is better once multiplied by ``default_weight``."""

    name: str = "reward"
    default_weight: float = 1.0
    eos: frozenset[int] | None = (
        None  # EOS id(s): lets a TRL-style call derive ended_with_eos from completion_ids
    )
    image_column: str | None = None  # the dataset column holding the images, when not image/images

    @abstractmethod
    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        """One value per caption; ``inputs`` carries per-caption columns (images, ended_with_eos, ...)."""

    def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        """TRL-style reward function: ``(prompts, completions, **kwargs) -> list[float]``.

        Completions may be strings or message lists (content a string or a list of parts);
        ``completion_ids`` give ``ended_with_eos`` when the reward knows the EOS id; an ``image``
        column or TRL's ``images`` column (a list of one image per row) gives the images.
        """
        if completions is None:
            raise TypeError("completions is required")
        captions = [completion_text(c) for c in completions]
        inputs = reward_inputs(kwargs, len(captions), eos=self.eos, image_column=self.image_column)
        return self.score(captions, **inputs)

    def set_eos(self, eos_token_id: int | Sequence[int] | None = None, tokenizer: Any = None) -> Reward:
        """Remember the EOS id(s) (given, or the tokenizer's) so that ``completion_ids`` give ``ended_with_eos``."""
        self.eos = eos_ids(eos_token_id, tokenizer)
        return self

    @property
    def __name__(self) -> str:  # TRL logs reward functions by __name__
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

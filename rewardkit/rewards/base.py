"""The reward protocol: a named, picklable callable from captions (plus inputs) to floats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a plain string or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


class Reward(ABC):
    """Scores a batch of captions; higher is better once multiplied by ``default_weight``."""

    name: str = "reward"
    default_weight: float = 1.0

    @abstractmethod
    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        """One value per caption; ``inputs`` carries per-caption columns (images, ended_with_eos, ...)."""

    def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        """TRL-style reward function: ``(prompts, completions, **kwargs) -> list[float]``."""
        if completions is None:
            raise TypeError("completions is required")
        return self.score([completion_text(c) for c in completions], **kwargs)

    @property
    def __name__(self) -> str:  # TRL logs reward functions by __name__
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

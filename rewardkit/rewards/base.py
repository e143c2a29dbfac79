"""The reward protocol: a named, picklable callable from captions (plus inputs) to floats."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from rewardkit.errors import ArgumentError
from rewardkit.functional.arguments import blank_as_empty, column_list, text_list
from rewardkit.rewards.inputs import completion_text, completions_list, eos_ids, reward_inputs

__all__ = ["Reward", "completion_text", "checked_inputs"]


def checked_inputs(captions: Any, inputs: dict[str, Any], name: str) -> tuple[list[str], dict[str, Any]]:
    """The arguments of ``score`` as every reward gets them: a list of captions, blank ones as ``""``, columns read once.

    A lone string is refused (it would be scored character by character); a caption of only
    whitespace or format characters (zero-width space, ...) is the empty caption.
    """
    captions = blank_as_empty(text_list(captions, f"{name}: captions"))
    columns = {k: column_list(v, f"{name}: {k}", column=k) for k, v in inputs.items()}
    if columns.get("references") is not None:
        columns["references"] = refs = list(columns["references"])
        for i, row in enumerate(refs):
            if isinstance(row, (str, bytes)):
                raise ArgumentError(f"{name}: references[{i}] must be a list of texts, got a single string")
    return captions, columns


def _checking(score: Callable[..., list[float]]) -> Callable[..., list[float]]:
    @functools.wraps(score)
    def checked(self: Reward, captions: Sequence[str], **inputs: Any) -> list[float]:
        captions, inputs = checked_inputs(captions, inputs, self.name)
        return score(self, captions, **inputs)

    checked._checks_arguments = True  # type: ignore[attr-defined]
    return checked


class Reward(ABC):
    """Scores a batch of captions; higher is better once multiplied by ``default_weight``.

    Every subclass's ``score`` gets its arguments through :func:`checked_inputs` (a list of
    captions, blank ones as ``""``, per-caption columns read once), whatever calls it.
    """

    name: str = "reward"
    default_weight: float = 1.0
    eos: frozenset[int] | None = (
        None  # EOS id(s): lets a TRL-style call derive ended_with_eos from completion_ids
    )
    image_column: str | None = None  # the dataset column holding the images, when not image/images
    uses_images: bool = False  # scores captions against images (so an image column applies to it)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        score = cls.__dict__.get("score")
        if score is not None and not getattr(score, "_checks_arguments", False):
            cls.score = _checking(score)  # type: ignore[method-assign]

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
        completions = completions_list(completions, self.name)
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

"""Sequence-level VLRM penalties: bad phrases, repeated words, missing EOS (counts, weight -1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rewardkit.functional.penalties import (
    bad_phrase_flags,
    count_repeated_words,
    load_word_list,
    phrase_matcher,
    repeat_exempt_set,
    repeat_flags,
    word_pieces,
)
from rewardkit.functional.returns import token_pieces
from rewardkit.rewards.base import Reward
from rewardkit.rewards.inputs import ended_from_ids


class _TokenCountPenalty(Reward):
    """Counts flagged tokens; tokens are a tokenizer's pieces when given, else words."""

    default_weight = -1.0

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer

    def pieces(self, caption: str) -> list[str]:
        if self.tokenizer is None:
            return word_pieces(caption)
        ids = self.tokenizer(caption, add_special_tokens=False)["input_ids"]
        return token_pieces(self.tokenizer, ids)

    def flags(self, pieces: Sequence[str]) -> list[int]:
        raise NotImplementedError

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        return [float(sum(self.flags(self.pieces(c)))) for c in captions]


class BadPhrasePenalty(_TokenCountPenalty):
    """Number of tokens inside a bad phrase (VLRM Section 3.4 item 3; default list + years).

    ``phrases`` is ``None`` (packaged list and year pattern), a list of phrases, or a file path.
    The attribute ``phrases`` (``None`` or a tuple) is the list it counts with: whoever places the
    penalty at its tokens (the trainer, :func:`rewardkit.functional.token_returns`) reads it from here.

    >>> BadPhrasePenalty(["an image of"]).score(["an image of a dog"])
    [3.0]
    """

    name = "bad"

    def __init__(self, phrases: Sequence[str] | str | Path | None = None, tokenizer: Any = None) -> None:
        super().__init__(tokenizer)
        if isinstance(phrases, (str, Path)):
            phrases = load_word_list(str(phrases))
        self.phrases = None if phrases is None else tuple(phrases)

    def flags(self, pieces: Sequence[str]) -> list[int]:
        return bad_phrase_flags(pieces, self.phrases)

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        if self.tokenizer is not None:
            return super().score(captions, **inputs)
        count = phrase_matcher(self.phrases).count  # words: straight from the spans, no pieces
        return [float(count(c)) for c in captions]


class RepeatPenalty(_TokenCountPenalty):
    """Number of tokens inside a word already used earlier (VLRM Section 3.4 item 4).

    The attribute ``exempt`` (``None``: the packaged list, or a frozenset of lower-case words) holds
    the words that may repeat: whoever places the penalty at its tokens reads it from here.

    >>> RepeatPenalty().score(["a green shirt and a green shirt"])
    [1.0]
    """

    name = "repeat"

    def __init__(self, exempt: Iterable[str] | str | Path | None = None, tokenizer: Any = None) -> None:
        super().__init__(tokenizer)
        if isinstance(exempt, (str, Path)):
            exempt = load_word_list(str(exempt))
        self.exempt = None if exempt is None else frozenset(w.lower() for w in exempt)

    def flags(self, pieces: Sequence[str]) -> list[int]:
        return repeat_flags(pieces, self.exempt)

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        if self.tokenizer is not None:
            return super().score(captions, **inputs)
        skip = repeat_exempt_set(self.exempt)
        return [float(count_repeated_words(c, skip)) for c in captions]


class NoEOSPenalty(Reward):
    """1 when generation did not end with EOS (VLRM Section 3.4 item 5), from ``ended_with_eos``.

    Called TRL-style, ``ended_with_eos`` comes from ``completion_ids`` when the EOS id is known
    (``eos_token_id=`` or ``tokenizer=``). Captions given with neither are taken as complete (0),
    but ``completion_ids`` without a known EOS id are refused rather than silently scored 0.
    """

    name = "noeos"
    default_weight = -1.0

    def __init__(self, eos_token_id: int | Sequence[int] | None = None, tokenizer: Any = None) -> None:
        self.set_eos(eos_token_id, tokenizer)

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        ended = inputs.get("ended_with_eos")
        if ended is None and inputs.get("completion_ids") is not None and self.eos is not None:
            ended = ended_from_ids(inputs["completion_ids"], self.eos)
        if ended is None and inputs.get("completion_ids") is not None:
            raise ValueError(
                "noeos: got completion_ids but no EOS id to read them with; build the reward with "
                "eos_token_id= or tokenizer= (e.g. rewardkit.rewards.from_preset(..., tokenizer=tok))"
            )
        if ended is None:
            return [0.0] * len(captions)
        if len(ended) != len(captions):
            raise ValueError(f"ended_with_eos has {len(ended)} values for {len(captions)} captions")
        return [0.0 if bool(e) else 1.0 for e in ended]

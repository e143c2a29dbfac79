"""Per-token discounted returns of VLRM Eq. 1 (Table 1), for one caption or a padded batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.functional.penalties import bad_phrase_flags, no_eos, repeat_flags

if TYPE_CHECKING:
    from torch import Tensor


def token_rewards(
    tokens: Sequence[str],
    sim: float,
    ref: float = 0.0,
    *,
    ended_with_eos: bool = True,
    bad_phrases: Sequence[str] | None = None,
    repeat_exempt: Iterable[str] | None = None,
) -> list[float]:
    """Immediate rewards r_s = -bad_s - repeat_s, plus sim + ref - noeos on the last token (VLRM Eq. 1)."""
    if not tokens:
        return []
    bad = bad_phrase_flags(tokens, bad_phrases)
    rep = repeat_flags(tokens, repeat_exempt)
    rewards = [-float(b) - float(r) for b, r in zip(bad, rep)]
    rewards[-1] += float(sim) + float(ref) - no_eos(ended_with_eos)
    return rewards


def discount(rewards: Sequence[float], gamma: float = 1.0) -> list[float]:
    """Discounted reward-to-go R_k = sum_{s>=k} gamma^(s-k) r_s."""
    out = [0.0] * len(rewards)
    acc = 0.0
    for k in range(len(rewards) - 1, -1, -1):
        acc = rewards[k] + gamma * acc
        out[k] = acc
    return out


def token_returns(
    tokens: Sequence[str],
    sim: float,
    ref: float = 0.0,
    *,
    ended_with_eos: bool = True,
    bad_phrases: Sequence[str] | None = None,
    gamma: float = 1.0,
    repeat_exempt: Iterable[str] | None = None,
) -> list[float]:
    """Per-token returns R(t_k) of VLRM Eq. 1 with discount ``gamma`` (gamma = 1 is the paper's).

    ``tokens`` are the decoded pieces of the generated tokens (EOS excluded), each with its
    leading space, so ``"".join(tokens)`` is the caption. ``bad_phrases=None`` uses the packaged
    list plus the year pattern; an explicit list means exactly those phrases. ``repeat_exempt``
    replaces the default exempt words (colors, prepositions, articles).

    >>> token_returns([" an", " image", " of", " a", " cat"], sim=1.0, bad_phrases=["an image of"])
    [-2.0, -1.0, 0.0, 1.0, 1.0]
    """
    rewards = token_rewards(
        tokens,
        sim,
        ref,
        ended_with_eos=ended_with_eos,
        bad_phrases=bad_phrases,
        repeat_exempt=repeat_exempt,
    )
    return discount(rewards, gamma)


def discounted_returns(rewards: Tensor, mask: Tensor, gamma: float = 1.0) -> Tensor:
    """Reward-to-go along the last axis of ``[B, T]`` rewards; padded positions (mask 0) return 0."""
    import torch

    rewards = rewards * mask
    if gamma == 1.0:
        out = rewards.flip(-1).cumsum(-1).flip(-1)
    else:
        out = torch.zeros_like(rewards)
        acc = torch.zeros_like(rewards[..., 0])
        for k in range(rewards.shape[-1] - 1, -1, -1):
            acc = rewards[..., k] + gamma * acc
            out[..., k] = acc
    return out * mask


def batch_token_returns(
    pieces: Sequence[Sequence[str]],
    sim: Tensor | Sequence[float],
    ref: Tensor | Sequence[float] | None = None,
    *,
    ended_with_eos: Tensor | Sequence[bool] | None = None,
    bad_phrases: Sequence[str] | None = None,
    gamma: float = 1.0,
    repeat_exempt: Iterable[str] | None = None,
    length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Batched :func:`token_returns`: returns ``(returns [B, T], mask [B, T])``, left-aligned.

    ``pieces[b]`` are row b's decoded token pieces (see :func:`token_pieces`); ``length``
    pads to a fixed T (default: the longest row).
    """
    import torch

    n = len(pieces)
    sim_t = torch.as_tensor(sim, dtype=torch.float32).reshape(n)
    ref_t = torch.zeros(n) if ref is None else torch.as_tensor(ref, dtype=torch.float32).reshape(n)
    eos = [True] * n if ended_with_eos is None else [bool(e) for e in ended_with_eos]
    t_max = max((len(p) for p in pieces), default=0) if length is None else length
    rewards = torch.zeros(n, t_max)
    mask = torch.zeros(n, t_max)
    for b, toks in enumerate(pieces):
        if len(toks) > t_max:
            raise ValueError(f"row {b} has {len(toks)} tokens, more than length={t_max}")
        row = token_rewards(
            toks,
            0.0,
            0.0,
            ended_with_eos=eos[b],
            bad_phrases=bad_phrases,
            repeat_exempt=repeat_exempt,
        )
        if row:
            rewards[b, : len(row)] = torch.tensor(row)
            rewards[b, len(row) - 1] += sim_t[b] + ref_t[b]
            mask[b, : len(row)] = 1.0
    return discounted_returns(rewards, mask, gamma), mask


def token_pieces(tokenizer: Any, token_ids: Sequence[int]) -> list[str]:
    """Decoded piece of every token id, so that ``"".join`` equals ``tokenizer.decode(token_ids)``.

    Pieces come from decoding growing prefixes, so multi-byte characters split across tokens
    and tokenizer-specific spacing rules are handled exactly.
    """
    ids = [int(i) for i in token_ids]
    pieces, prev = [], ""
    for k in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:k], skip_special_tokens=True, clean_up_tokenization_spaces=False)
        if not text.startswith(prev) or text.endswith("\ufffd"):
            # An incomplete multi-byte character: the piece lands on a later token.
            pieces.append("")
            continue
        pieces.append(text[len(prev) :])
        prev = text
    return pieces


def pieces_from_offsets(text: str, offsets: Sequence[tuple[int, int]]) -> list[str]:
    """Token pieces from a fast tokenizer's ``offset_mapping``: each piece runs to the next token's start."""
    starts = [s for s, _ in offsets]
    if not starts:
        return []
    bounds = [0, *starts[1:], len(text)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(len(offsets))]

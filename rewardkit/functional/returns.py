"""Per-token discounted returns of VLRM Eq. 1 (Table 1), for one caption or a padded batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.errors import ArgumentError
from rewardkit.functional.arguments import text_list
from rewardkit.functional.assembly import resolve_weights
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
    weights: dict[str, float] | None = None,
) -> list[float]:
    """Immediate rewards r_s = -bad_s - repeat_s, plus sim + ref - noeos on the last token (VLRM Eq. 1).

    ``weights`` replaces VLRM's weights (``sim``, ``ref`` 1; ``bad``, ``repeat``, ``noeos`` -1)
    key by key; a weight of 0 turns a term off (its flags are then not computed).
    """
    tokens = text_list(
        tokens,
        "token_returns: tokens",
        what="token pieces",
        hint="split the caption into its tokens' decoded pieces (token_pieces, or word_pieces for words)",
    )
    if not tokens:
        return []
    w = resolve_weights(weights)
    rewards = [0.0] * len(tokens)
    if w["bad"]:
        rewards = [r + w["bad"] * float(f) for r, f in zip(rewards, bad_phrase_flags(tokens, bad_phrases))]
    if w["repeat"]:
        rewards = [r + w["repeat"] * float(f) for r, f in zip(rewards, repeat_flags(tokens, repeat_exempt))]
    rewards[-1] += w["sim"] * float(sim) + w["ref"] * float(ref) + w["noeos"] * no_eos(ended_with_eos)
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
    weights: dict[str, float] | None = None,
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
        weights=weights,
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
    weights: dict[str, float] | None = None,
    device: Any = None,
) -> tuple[Tensor, Tensor]:
    """Batched :func:`token_returns`: returns ``(returns [B, T], mask [B, T])``, left-aligned.

    ``pieces[b]`` are row b's decoded token pieces (see :func:`token_pieces`); ``length``
    pads to a fixed T (default: the longest row). Outputs are float32 on ``device`` (default:
    the device of ``sim`` when it is a tensor, else CPU).
    """
    import torch

    if device is None:
        device = sim.device if isinstance(sim, torch.Tensor) else "cpu"
    if isinstance(pieces, (str, bytes)):
        raise ArgumentError(
            "pieces must be a list with one list of token pieces per row, got a single string"
        )
    pieces = [
        text_list(row, f"pieces[{b}]", what="token pieces", hint="give each row its tokens' decoded pieces")
        for b, row in enumerate(pieces)
    ]
    if ended_with_eos is not None and not isinstance(ended_with_eos, torch.Tensor):
        ended_with_eos = list(ended_with_eos)
    n = len(pieces)
    sim_t = torch.as_tensor(sim, dtype=torch.float32).reshape(n).cpu()
    ref_t = torch.zeros(n) if ref is None else torch.as_tensor(ref, dtype=torch.float32).reshape(n).cpu()
    eos = [True] * n if ended_with_eos is None else [bool(e) for e in ended_with_eos]
    t_max = max((len(p) for p in pieces), default=0) if length is None else length
    rewards = torch.zeros(n, t_max)
    mask = torch.zeros(n, t_max)
    for b, toks in enumerate(pieces):
        if len(toks) > t_max:
            raise ValueError(f"row {b} has {len(toks)} tokens, more than length={t_max}")
        row = token_rewards(
            toks,
            float(sim_t[b]),
            float(ref_t[b]),
            ended_with_eos=eos[b],
            bad_phrases=bad_phrases,
            repeat_exempt=repeat_exempt,
            weights=weights,
        )
        if row:
            rewards[b, : len(row)] = torch.tensor(row)
            mask[b, : len(row)] = 1.0
    return discounted_returns(rewards, mask, gamma).to(device), mask.to(device)


def completion_spans(
    ids: Tensor, *, eos_token_id: int | Sequence[int], pad_token_id: int | None = None
) -> tuple[Tensor, Tensor]:
    """Per row of padded completion ids ``[B, T]``: its length (through the first EOS, else up to the trailing padding) and whether it ended with EOS.

    >>> import torch
    >>> completion_spans(torch.tensor([[5, 6, 2, 0], [5, 0, 0, 0], [7, 8, 9, 4]]), eos_token_id=2, pad_token_id=0)
    (tensor([3, 1, 4]), tensor([ True, False, False]))
    """
    import torch

    eos_ids = torch.as_tensor(
        [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id), device=ids.device
    )
    b, t = ids.shape
    positions = torch.arange(t, device=ids.device).expand(b, t)
    is_eos = torch.isin(ids, eos_ids)
    ended = is_eos.any(-1)
    first_eos = torch.where(is_eos, positions, torch.full_like(positions, t)).min(-1).values
    if pad_token_id is None:
        content_end = torch.full((b,), t, device=ids.device, dtype=torch.long)
    else:
        real = ids != pad_token_id
        content_end = torch.where(real, positions + 1, torch.zeros_like(positions)).max(-1).values
    lengths = torch.where(ended, first_eos + 1, content_end)
    return lengths, ended


def batch_token_returns_from_ids(
    tokenizer: Any,
    ids: Tensor,
    *,
    sim: Tensor | Sequence[float],
    ref: Tensor | Sequence[float] | None = None,
    eos_token_id: int | Sequence[int],
    pad_token_id: int | None = None,
    weights: dict[str, float] | None = None,
    gamma: float = 1.0,
    bad_phrases: Sequence[str] | None = None,
    repeat_exempt: Iterable[str] | None = None,
) -> tuple[Tensor, Tensor]:
    """VLRM Eq. 1 returns for padded generated ids ``[B, T]`` (no prompt): ``(returns [B, T], mask [B, T] bool)``.

    Each row is cut at its first EOS (the EOS token keeps its position and takes the terminal
    reward); without EOS it runs to its last non-padding token and gets the no-EOS penalty.
    Positions past a row's end are 0 with mask False. Outputs are on the device of ``ids``.
    """
    import torch

    lengths, ended = completion_spans(ids, eos_token_id=eos_token_id, pad_token_id=pad_token_id)
    rows = ids.detach().cpu().tolist()
    pieces = [token_pieces(tokenizer, row[: int(n)]) for row, n in zip(rows, lengths.tolist())]
    returns, mask = batch_token_returns(
        pieces,
        sim.detach().cpu() if isinstance(sim, torch.Tensor) else sim,
        None if ref is None else (ref.detach().cpu() if isinstance(ref, torch.Tensor) else ref),
        ended_with_eos=ended.tolist(),
        bad_phrases=bad_phrases,
        repeat_exempt=repeat_exempt,
        gamma=gamma,
        length=ids.shape[1],
        weights=weights,
        device=ids.device,
    )
    return returns, mask.bool()


def token_pieces(tokenizer: Any, token_ids: Sequence[int]) -> list[str]:
    """Decoded piece of every token id, so that ``"".join`` equals ``tokenizer.decode(token_ids)``.

    Incremental decoding in linear time: each step decodes a short window that starts one
    emitted token back (so tokenizer-specific spacing rules apply as in the full decode); a
    token that ends inside a multi-byte character gets an empty piece and its text lands on
    the token that completes it. Special tokens (EOS) have empty pieces.
    """
    ids = [int(i) for i in token_ids]

    def decode(part: list[int]) -> str:
        return tokenizer.decode(part, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    pieces: list[str] = []
    prefix_start, read_start = 0, 0  # window: ids[prefix_start:read_start] is already emitted
    for k in range(1, len(ids) + 1):
        before = decode(ids[prefix_start:read_start])
        after = decode(ids[prefix_start:k])
        if after.endswith("\ufffd") or len(after) <= len(before) and after == before:
            pieces.append("")
            continue
        if not after.startswith(before):  # the window changed earlier text: decode from the start
            done = "".join(pieces)
            full = decode(ids[:k])
            piece = full[len(done) :] if full.startswith(done) else ""
        else:
            piece = after[len(before) :]
        pieces.append(piece)
        prefix_start, read_start = read_start, k
    return pieces


def pieces_from_offsets(text: str, offsets: Sequence[tuple[int, int]]) -> list[str]:
    """Token pieces from a fast tokenizer's ``offset_mapping``: each piece runs to the next token's start."""
    starts = [s for s, _ in offsets]
    if not starts:
        return []
    bounds = [0, *starts[1:], len(text)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(len(offsets))]

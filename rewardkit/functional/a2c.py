"""The A2C losses of VLRM (Section 3.5, Eqs. 2-4) on padded ``[B, T]`` token tensors.

``mask`` marks real tokens (1) and padding (0); every function ignores padded positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def _per_caption_mean(x: Tensor, mask: Tensor) -> Tensor:
    """(1/n) sum_k x_k for every caption (n = its token count), then the mean over captions."""
    n = mask.sum(-1).clamp(min=1)
    return ((x * mask).sum(-1) / n).mean()


def normalized_advantages(advantages: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """VLRM Eq. 3: M = (A - mean A) / std A over every real token of the whole batch (unbiased std).

    >>> import torch
    >>> a = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]]); m = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    >>> normalized_advantages(a, m).round(decimals=4).tolist()
    [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    import torch

    values = advantages[mask.bool()]
    if values.numel() < 2:
        return torch.zeros_like(advantages)
    mean, std = values.mean(), values.std()
    return torch.where(mask.bool(), (advantages - mean) / (std + eps), torch.zeros_like(advantages))


def value_loss(values: Tensor, returns: Tensor, mask: Tensor) -> Tensor:
    """VLRM Eq. 2: L_v = (1/n) sum_k (R(t_k) - V_k)^2 per caption, averaged over captions."""
    return _per_caption_mean((returns - values) ** 2, mask)


def policy_loss(logprobs: Tensor, m: Tensor, mask: Tensor, objective: str = "prob") -> Tensor:
    """VLRM Eq. 4: L_p = -(1/n) sum_k p_k M_k per caption, averaged; ``M`` is treated as a constant.

    ``objective="prob"`` uses the token probability p_k as the paper writes;
    ``"logprob"`` uses log p_k (the policy-gradient form).
    """
    if objective == "prob":
        weight = logprobs.exp()
    elif objective == "logprob":
        weight = logprobs
    else:
        raise ValueError(f"policy objective must be 'prob' or 'logprob', not {objective!r}")
    return -_per_caption_mean(weight * m.detach(), mask)


def token_entropy(logits: Tensor) -> Tensor:
    """Entropy of every position's next-token distribution, ``[B, T]``."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def group_baseline(totals: Tensor, group: Tensor) -> Tensor:
    """For each caption, the mean total reward of the *other* captions of its image (its own if alone).

    >>> import torch
    >>> group_baseline(torch.tensor([1.0, 3.0, 5.0, 7.0]), torch.tensor([0, 0, 0, 1])).tolist()
    [4.0, 3.0, 2.0, 7.0]
    """
    import torch

    n_groups = int(group.max()) + 1 if group.numel() else 0
    sums = torch.zeros(n_groups, dtype=totals.dtype).index_add_(0, group, totals)
    counts = torch.zeros(n_groups, dtype=totals.dtype).index_add_(0, group, torch.ones_like(totals))
    others = counts[group] - 1
    return torch.where(others > 0, (sums[group] - totals) / others.clamp(min=1), totals)

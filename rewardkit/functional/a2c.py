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
    return normalize_with_moments(advantages, mask, advantage_moments(advantages, mask), eps)


def advantage_moments(advantages: Tensor, mask: Tensor) -> Tensor:
    """``[sum A, sum A^2, count]`` over real tokens (float64): add them across processes for batch-wide statistics."""
    import torch

    a = advantages.double()[mask.bool()]
    return torch.stack(
        [a.sum(), (a * a).sum(), torch.tensor(float(a.numel()), dtype=torch.float64, device=a.device)]
    )


def moments_mean_std(moments: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased std from summed :func:`advantage_moments`."""
    total, squares, n = moments[0], moments[1], moments[2]
    mean = total / n.clamp(min=1)
    var = (squares - n * mean * mean) / (n - 1).clamp(min=1)
    return mean, var.clamp(min=0).sqrt()


def normalize_with_moments(advantages: Tensor, mask: Tensor, moments: Tensor, eps: float = 1e-8) -> Tensor:
    """VLRM Eq. 3 with the mean and std of (possibly all processes') summed moments; padding stays 0.

    Under DDP: ``normalize_with_moments(a, m, accelerator.reduce(advantage_moments(a, m), "sum"))``
    equals :func:`normalized_advantages` of the concatenated batch.
    """
    import torch

    if float(moments[2]) < 2:
        return torch.zeros_like(advantages)
    mean, std = moments_mean_std(moments)
    normed = ((advantages.double() - mean) / (std + eps)).to(advantages.dtype)
    return torch.where(mask.bool(), normed, torch.zeros_like(advantages))


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


def mean_token_entropy(entropies: Tensor, mask: Tensor) -> Tensor:
    """H, the entropy bonus: each caption's mean next-token entropy over its real tokens, then the mean over captions.

    >>> import torch
    >>> mean_token_entropy(torch.tensor([[1.0, 3.0], [4.0, 9.0]]), torch.tensor([[1.0, 1.0], [1.0, 0.0]])).item()
    3.0
    """
    return _per_caption_mean(entropies, mask)


def a2c_advantages(
    returns: Tensor,
    values: Tensor,
    mask: Tensor,
    *,
    group: Tensor | None = None,
) -> Tensor:
    """A = R - b per token, padding 0. b = V (VLRM); with ``group`` (image index per caption),
    b = (V + g) / 2 where g is the mean total return of the image's *other* captions (:func:`group_baseline`).

    >>> import torch
    >>> r = torch.tensor([[3.0, 1.0], [5.0, 2.0]]); v = torch.tensor([[1.0, 1.0], [1.0, 1.0]]); m = torch.ones(2, 2)
    >>> a2c_advantages(r, v, m, group=torch.tensor([0, 0])).tolist()
    [[0.0, -2.0], [3.0, 0.0]]
    """
    baseline = values
    if group is not None:
        baseline = 0.5 * (values + group_baseline(returns[:, 0], group)[:, None])
    return (returns - baseline) * mask


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

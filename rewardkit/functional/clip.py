"""CLIP-based scores: CLIPScore, RefCLIPScore (Hessel et al., 2021) and VLRM's retrieval-softmax Φ."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def pair_cosine(image_emb: Tensor, text_emb: Tensor) -> Tensor:
    """Cosine of row i of ``image_emb`` with row i of ``text_emb``, ``[n]``."""
    import torch.nn.functional as F

    return (F.normalize(image_emb.float(), dim=-1) * F.normalize(text_emb.float(), dim=-1)).sum(-1)


def clip_score(cos: Tensor, w: float = 2.5) -> Tensor:
    """CLIP-S = w * max(cos, 0) (Hessel et al., 2021, Eq. 1; w = 2.5).

    >>> import torch; clip_score(torch.tensor([0.3, -0.1])).tolist()
    [0.75, 0.0]
    """
    return w * cos.clamp(min=0)


def ref_clip_score(clip_s: Tensor, ref_cos_max: Tensor) -> Tensor:
    """RefCLIP-S = harmonic mean of CLIP-S and max(max_r cos(c, r), 0) (Hessel et al., 2021, Eq. 2)."""
    import torch

    r = ref_cos_max.clamp(min=0)
    denom = clip_s + r
    return torch.where(denom > 0, 2 * clip_s * r / denom.clamp(min=1e-12), torch.zeros_like(denom))


def retrieval_softmax_phi(sim: Tensor) -> Tensor:
    """VLRM Eq. 5: D = diag(softmax(S, 0) * softmax(S, 1)), Φ = (D - mean D) / std D (unbiased std).

    ``sim`` is a square ``[n, n]`` matrix with S[i, j] = cos(clip(image_i), clip(text_j)); Φ_k
    rewards caption k for retrieving its own image better than the batch's other captions do.
    """
    import torch

    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise ValueError(f"retrieval_softmax_phi needs a square [n, n] matrix, got {tuple(sim.shape)}")
    if sim.shape[0] < 2:
        raise ValueError("retrieval_softmax_phi needs at least 2 pairs (the std of one value is undefined)")
    d = torch.diagonal(torch.softmax(sim, dim=0) * torch.softmax(sim, dim=1))
    return (d - d.mean()) / d.std()

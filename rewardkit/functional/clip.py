"""CLIP-based scores: CLIPScore, RefCLIPScore (Hessel et al., 2021) and VLRM's retrieval-softmax Φ.

Per-pair values (rewards) give NaN for a NaN or infinite input, as TRL treats a reward it cannot
compute; corpus values (:func:`corpus_clip_score`) raise :class:`~rewardkit.errors.NonFiniteError`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from rewardkit.functional.finite import require_finite

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


CLIPSCORE_CONVENTIONS = {
    "hessel": {"w": 2.5, "prompt": "A photo depicts", "clamp": "pair"},
    "torchmetrics": {"w": 100.0, "prompt": "", "clamp": "mean"},
}
"""CLIPScore as papers report it. ``hessel`` (Hessel et al., 2021; the default): w = 2.5, the prompt
"A photo depicts", each pair clamped at 0. ``torchmetrics`` (``torchmetrics.multimodal.CLIPScore``):
100·cos, no prompt, only the mean clamped at 0; rewardkit keeps EOS for captions past the context
(torchmetrics slices ``input_ids`` and drops it), so long captions can differ from torchmetrics'."""


def clip_score_values(cos: Tensor, convention: str = "hessel") -> Tensor:
    """Per-pair CLIPScore values of a convention (``torchmetrics``: 100·cos, not clamped per pair)."""
    spec = _convention(convention)
    return spec["w"] * cos.clamp(min=0) if spec["clamp"] == "pair" else spec["w"] * cos


def corpus_clip_score(cos: Tensor, convention: str = "hessel") -> float:
    """The corpus CLIPScore of a convention: mean of per-pair values (``torchmetrics``: then clamped at 0).

    >>> import torch; cos = torch.tensor([0.3, -0.5])
    >>> corpus_clip_score(cos), corpus_clip_score(cos, "torchmetrics")
    (0.375, 0.0)
    """
    require_finite(cos, "the CLIP cosines")
    values = clip_score_values(cos, convention)
    mean = float(values.double().mean())
    return max(mean, 0.0) if _convention(convention)["clamp"] == "mean" else mean


def _convention(name: str) -> dict:
    if name not in CLIPSCORE_CONVENTIONS:
        raise ValueError(f"unknown CLIPScore convention {name!r}; known: {', '.join(CLIPSCORE_CONVENTIONS)}")
    return CLIPSCORE_CONVENTIONS[name]


def ref_clip_score(clip_s: Tensor, ref_cos_max: Tensor, *, definition: str = "paper") -> Tensor:
    """RefCLIP-S = harmonic mean of CLIP-S and the best caption-reference cosine (Hessel et al., 2021, Eq. 2).

    ``definition="paper"`` (default): the reference cosine is clamped at 0 (Eq. 2's max(·, 0)) and
    0/0 gives 0. ``"clipscore.py"``: as the authors' script computes it, no clamp (a negative
    reference cosine gives a negative score) and 0/0 gives NaN.

    >>> import torch
    >>> ref_clip_score(torch.tensor([0.75]), torch.tensor([-0.05])).tolist()
    [0.0]
    >>> round(ref_clip_score(torch.tensor([0.75]), torch.tensor([-0.05]), definition="clipscore.py").item(), 4)
    -0.1071
    """
    import torch

    if definition == "clipscore.py":
        a, b = clip_s.double(), ref_cos_max.double()
        return (2 * a * b / (a + b)).to(clip_s.dtype)
    if definition != "paper":
        raise ValueError(f"RefCLIPScore definition must be 'paper' or 'clipscore.py', not {definition!r}")
    r = ref_cos_max.clamp(min=0)
    denom = clip_s + r
    out = torch.where(denom > 0, 2 * clip_s * r / denom.clamp(min=1e-12), torch.zeros_like(denom))
    broken = ~(torch.isfinite(clip_s) & torch.isfinite(ref_cos_max))
    return torch.where(broken, torch.full_like(out, float("nan")), out)  # not 0: NaN in, NaN out


def retrieval_softmax_phi(sim: Tensor) -> Tensor:
    """VLRM Eq. 5: D = diag(softmax(S, 0) * softmax(S, 1)), Φ = (D - mean D) / std D (unbiased std).

    ``sim`` is a square ``[n, n]`` matrix with S[i, j] = cos(clip(image_i), clip(text_j)); Φ_k
    rewards caption k for retrieving its own image better than the batch's other captions do.
    The n images must be distinct (a caption would otherwise compete with its own image's other
    captions): batches with several captions per image are split by :func:`distinct_image_groups`.
    """
    import torch

    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise ValueError(f"retrieval_softmax_phi needs a square [n, n] matrix, got {tuple(sim.shape)}")
    if sim.shape[0] < 2:
        raise ValueError("retrieval_softmax_phi needs at least 2 pairs (the std of one value is undefined)")
    d = torch.diagonal(torch.softmax(sim, dim=0) * torch.softmax(sim, dim=1))
    return (d - d.mean()) / d.std()


def distinct_image_groups(n_images: int, samples_per_image: int) -> list[list[int]]:
    """Index groups of a batch ordered image-major (caption ``i * s + j`` is sample ``j`` of image ``i``)
    in which every image appears once: group ``j`` holds sample ``j`` of each image.

    VLRM Eq. 5 is a softmax over a batch of *distinct* images: with repeats, a caption would compete
    with its own image's other samples. A trainer that draws ``s`` samples per image therefore
    computes Φ over these ``s`` groups of ``n_images`` pairs each (so every Φ is over ``n_images``
    distinct images, standardised within its group) and places the values back at their captions.

    >>> distinct_image_groups(3, 2)
    [[0, 2, 4], [1, 3, 5]]
    """
    return [[i * samples_per_image + j for i in range(n_images)] for j in range(samples_per_image)]


def occurrence_groups(keys: Sequence[Hashable]) -> list[list[int]]:
    """Split a batch into groups of distinct keys: group ``j`` holds the ``j``-th occurrence of each key.

    The general form of :func:`distinct_image_groups` for any order (a captions file with several
    captions per image): every group has each image at most once, so Φ can be computed on it.

    >>> occurrence_groups(["a", "b", "a", "c", "a"])
    [[0, 1, 3], [2], [4]]
    """
    seen: dict[Hashable, int] = {}
    groups: list[list[int]] = []
    for i, k in enumerate(keys):
        j = seen.get(k, 0)
        seen[k] = j + 1
        if j == len(groups):
            groups.append([])
        groups[j].append(i)
    return groups

"""Text-to-image retrieval metrics: CLIP Recall R@1/5/10 and MRR (the IC3 protocol, VLRM Table 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewardkit.functional.finite import require_finite

if TYPE_CHECKING:
    from torch import Tensor


def _checked(sim: Tensor, image_index: Tensor | None) -> Tensor:
    """``image_index`` as a long tensor on ``sim``'s device, after checking shapes, range and finiteness."""
    import torch

    if sim.ndim != 2:
        raise ValueError(f"sim must be [n_texts, n_images], got shape {tuple(sim.shape)}")
    require_finite(sim, "the similarity matrix")
    n_texts, n_images = sim.shape
    if image_index is None:
        if n_texts != n_images:
            raise ValueError(
                f"sim is {n_texts}x{n_images}: pass image_index when texts and images differ in number"
            )
        image_index = torch.arange(n_texts)
    image_index = torch.as_tensor(image_index, dtype=torch.long, device=sim.device).reshape(-1)
    if image_index.numel() != n_texts:
        raise ValueError(f"image_index has {image_index.numel()} entries for {n_texts} texts")
    if n_texts and (image_index.min() < 0 or image_index.max() >= n_images):
        raise ValueError(f"image_index must lie in [0, {n_images})")
    return image_index


def retrieval_ranks(sim: Tensor, image_index: Tensor | None = None, *, chunk: int = 1024) -> Tensor:
    """Rank of every text's true image: 1 + the number of images with strictly higher similarity.

    Ties count in the caption's favour, as IC3's code ranks (:func:`tied_rankings` counts them);
    NaN or infinite similarities raise :class:`~rewardkit.errors.NonFiniteError`.
    """
    import torch

    image_index = _checked(sim, image_index)
    n_texts = sim.shape[0]
    ranks = torch.empty(n_texts, dtype=torch.long, device=sim.device)
    for start in range(0, n_texts, chunk):
        rows = sim[start : start + chunk]
        true = rows.gather(1, image_index[start : start + chunk, None])
        ranks[start : start + chunk] = (rows > true).sum(dim=1) + 1
    return ranks


def tied_rankings(sim: Tensor, image_index: Tensor | None = None, *, chunk: int = 1024) -> int:
    """How many texts have their true image tied with another image (equal similarity).

    A tie ranks the true image first among the tied (IC3's convention, kept by :func:`clip_recall`), so
    an evaluator whose similarities collapse (constant rows) scores perfect recall; this count is how
    the summary tells such a run from a good one.

    >>> import torch; tied_rankings(torch.tensor([[0.5, 0.5], [0.9, 0.1]]))
    1
    """
    image_index = _checked(sim, image_index)
    tied = 0
    for start in range(0, sim.shape[0], chunk):
        rows = sim[start : start + chunk]
        true = rows.gather(1, image_index[start : start + chunk, None])
        tied += int(((rows == true).sum(dim=1) > 1).sum())
    return tied


def clip_recall(
    sim: Tensor, image_index: Tensor | None = None, *, average: str = "caption"
) -> dict[str, float]:
    """R@1, R@5, R@10 and MRR of text-to-image retrieval; ``sim`` is ``[n_texts, n_images]``.

    Ties count in the caption's favour (IC3); non-finite similarities raise
    :class:`~rewardkit.errors.NonFiniteError` (a NaN would otherwise read as a hit).
    ``average="caption"`` (default; IC3's per-caption code, VLRM Table 3) averages over captions;
    ``"image"`` averages each image's captions first, then over images (IC3's references
    script), which differs when images have unequal numbers of captions.

    >>> import torch; clip_recall(torch.tensor([[0.9, 0.1], [0.8, 0.2]]))
    {'R@1': 0.5, 'R@5': 1.0, 'R@10': 1.0, 'MRR': 0.75}
    """
    import torch

    ranks = retrieval_ranks(sim, image_index).double()
    if ranks.numel() == 0:
        raise ValueError("clip_recall needs at least one text")
    hits = {f"R@{k}": (ranks <= k).double() for k in (1, 5, 10)}
    hits["MRR"] = 1.0 / ranks
    if average == "caption":
        return {name: float(v.mean()) for name, v in hits.items()}
    if average != "image":
        raise ValueError(f"average must be 'caption' or 'image', not {average!r}")
    index = (
        torch.arange(sim.shape[0]) if image_index is None else torch.as_tensor(image_index).reshape(-1).cpu()
    )
    groups, inverse = torch.unique(index, return_inverse=True)
    counts = torch.zeros(len(groups), dtype=torch.float64).index_add_(
        0, inverse, torch.ones_like(ranks.cpu())
    )
    out = {}
    for name, v in hits.items():
        sums = torch.zeros(len(groups), dtype=torch.float64).index_add_(0, inverse, v.cpu())
        out[name] = float((sums / counts).mean())
    return out


def truncate_chars(texts: list[str], limit: int = 300) -> list[str]:
    """Texts cut to ``limit`` characters before tokenizing, as IC3's CLIP recall does (it backs off by 20 when tokenizing fails)."""
    return [t[:limit] for t in texts]

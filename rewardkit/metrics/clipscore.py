"""CLIPScore and RefCLIPScore over a CLIP encoder: the prompt and the best-reference search, in one place.

Both the per-caption rewards (:class:`rewardkit.rewards.vision.CLIPScore`,
:class:`~rewardkit.rewards.vision.RefCLIPScore`) and the corpus summary
(:func:`rewardkit.scoring.summary.evaluator_metrics`) call these; the formulas themselves
(Hessel et al., 2021, Eq. 1 and 2) live in :mod:`rewardkit.functional.clip`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.functional.clip import CLIPSCORE_CONVENTIONS

if TYPE_CHECKING:
    from torch import Tensor

PROMPT = CLIPSCORE_CONVENTIONS["hessel"]["prompt"]
"""The text put before every caption and reference (Hessel et al., 2021, Section 3: "A photo depicts")."""


def prompted(texts: Sequence[str], prompt: str = PROMPT) -> list[str]:
    """Each text after ``prompt`` (none when ``prompt`` is empty).

    >>> prompted(["a dog", ""])
    ['A photo depicts a dog', 'A photo depicts']
    """
    return [f"{prompt} {t}".strip() if prompt else t for t in texts]


def best_reference_cosines(
    encoder: Any, candidates: Tensor, references: Sequence[Sequence[str] | None], prompt: str = PROMPT
) -> Tensor:
    """Per caption, the largest cosine between its prompted embedding and its prompted references' (RefCLIP-S).

    ``candidates`` are the captions' embeddings (``[n, d]``, unit norm, already prompted), row ``i``
    matching ``references[i]``; every reference is encoded in one call. A caption without references
    gives NaN.
    """
    import torch

    out = torch.full((len(references),), float("nan"), dtype=candidates.dtype)
    flat = [r for refs in references for r in (refs or [])]
    if not flat:
        return out
    ref_emb = encoder.encode_texts(prompted(flat, prompt))
    pos = 0
    for i, refs in enumerate(references):
        k = len(refs or [])
        if k:
            out[i] = (ref_emb[pos : pos + k] @ candidates[i]).max()
            pos += k
    return out

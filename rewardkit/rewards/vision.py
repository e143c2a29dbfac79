"""Model-backed rewards: CLIP cosine, CLIPScore, RefCLIPScore, BLIP-2 ITM/ITC, reference LM, Φ."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.functional.clip import clip_score, pair_cosine, ref_clip_score, retrieval_softmax_phi
from rewardkit.rewards.base import Reward


def as_images(images: Sequence[Any] | None, n: int) -> list[Any]:
    """``n`` images through the one loader (:mod:`rewardkit.io.images`); prepared images pass through.

    Paths, bytes, ``data:`` URIs, PIL images, numpy arrays (HxWxC) and torch tensors (CxHxW) are
    accepted; anything else is refused naming ``images[i]``.
    """
    return [im for im, _ in _loaded(images, n)]


def _loaded(images: Sequence[Any] | None, n: int) -> list[tuple[Any, str]]:
    """``(picture, cache key)`` of every image, loaded once."""
    from rewardkit.io.images import load_image
    from rewardkit.io.pipeline import PreparedImage

    if images is None:
        raise RewardkitError("this reward needs images=[...] aligned with the captions")
    if isinstance(images, (str, bytes, Path)) or not hasattr(images, "__len__"):
        raise RewardkitError(f"images must be a list of images, not {type(images).__name__}")
    if len(images) != n:
        raise RewardkitError(f"{len(images)} images for {n} captions")
    out: list[tuple[Any, str]] = []
    for i, im in enumerate(images):
        if isinstance(im, PreparedImage):
            out.append((im, im.key))
        else:
            loaded = load_image(im, name=f"images[{i}]")
            out.append((loaded.image, loaded.key))
    return out


class _ImageTextReward(Reward):
    uses_images = True

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def _inputs(self, captions: Sequence[str], inputs: dict[str, Any]) -> tuple[list[Any], list[str] | None]:
        loaded = _loaded(inputs.get("images"), len(captions))
        keys = inputs.get("image_keys")
        return [im for im, _ in loaded], list(keys) if keys is not None else [k for _, k in loaded]


class CLIPCosine(_ImageTextReward):
    """cos(clip(image), clip(caption)) (ESPER's reward)."""

    name = "clip"

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        images, keys = self._inputs(captions, inputs)
        return pair_cosine(
            self.backend.encode_images(images, keys), self.backend.encode_texts(captions)
        ).tolist()


class CLIPScore(_ImageTextReward):
    """CLIP-S = w * max(cos(image, prompt + caption), 0), w = 2.5, prompt "A photo depicts" (Hessel et al., 2021).

    ``convention="torchmetrics"`` gives 100·cos with no prompt and no per-pair clamp (see
    :data:`rewardkit.functional.clip.CLIPSCORE_CONVENTIONS`); ``w``/``prompt`` override either.
    """

    name = "clipscore"

    def __init__(
        self, backend: Any, w: float | None = None, prompt: str | None = None, convention: str = "hessel"
    ) -> None:
        from rewardkit.functional.clip import _convention

        super().__init__(backend)
        spec = _convention(convention)
        self.convention = convention
        self.w = spec["w"] if w is None else float(w)
        self.prompt = spec["prompt"] if prompt is None else prompt

    def prompted(self, texts: Sequence[str]) -> list[str]:
        from rewardkit.metrics.clipscore import prompted

        return prompted(texts, self.prompt)

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        images, keys = self._inputs(captions, inputs)
        cos = pair_cosine(
            self.backend.encode_images(images, keys), self.backend.encode_texts(self.prompted(captions))
        )
        if self.convention == "torchmetrics":
            return (self.w * cos).tolist()
        return clip_score(cos, self.w).tolist()


class RefCLIPScore(CLIPScore):
    """RefCLIP-S: harmonic mean of CLIP-S and the best caption-reference cosine; NaN without references.

    ``definition="paper"`` clamps the reference cosine at 0 (Eq. 2); ``"clipscore.py"`` does not, as the authors' script.
    """

    name = "refclipscore"

    def __init__(
        self, backend: Any, w: float | None = None, prompt: str | None = None, definition: str = "paper"
    ) -> None:
        super().__init__(backend, w, prompt)
        if definition not in ("paper", "clipscore.py"):
            raise ValueError(f"definition must be 'paper' or 'clipscore.py', not {definition!r}")
        self.definition = definition

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        import torch

        refs = inputs.get("references")
        if refs is None:
            return [math.nan] * len(captions)
        clip_s = torch.tensor(super().score(captions, **inputs))
        if not any(refs_i for refs_i in refs):
            return [math.nan] * len(captions)
        from rewardkit.metrics.clipscore import best_reference_cosines

        cand = self.backend.encode_texts(self.prompted(captions))
        best = best_reference_cosines(self.backend, cand, refs, self.prompt)
        out = ref_clip_score(clip_s, best.to(clip_s.dtype), definition=self.definition)
        has = [bool(r) for r in refs]
        return [float(v) if h else math.nan for v, h in zip(out.tolist(), has)]


class ITMLogit(_ImageTextReward):
    """BLIP-2 ITM match logit before softmax (VLRM Section 3.4 item 1)."""

    name = "itm"

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        images, keys = self._inputs(captions, inputs)
        return self.backend.itm_logits(images, list(captions), keys).tolist()


class ITCCosine(_ImageTextReward):
    """BLIP-2 ITC similarity (max over query tokens of the cosine)."""

    name = "itc"

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        images, keys = self._inputs(captions, inputs)
        return self.backend.itc_cosine(images, list(captions), keys).tolist()


class RefLogProb(Reward):
    """ref(text): mean token log-probability under a reference LM (VLRM Section 3.4 item 2)."""

    name = "ref"

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        return self.backend.mean_logprob(list(captions)).tolist()


class RetrievalPhi(_ImageTextReward):
    """Φ of VLRM Eq. 5 over the batch: how much better caption k retrieves its image than the others do.

    The batch is the call's (image, caption) pairs; each must have a distinct image (a repeated
    image, by ``image_keys``, file content or pixels, is refused: split such batches with
    :func:`rewardkit.functional.distinct_image_groups`). Fewer than two pairs give NaN.
    """

    name = "phi"
    batch_dependent = True

    def score(self, captions: Sequence[str], **inputs: Any) -> list[float]:
        if len(captions) < 2:
            return [math.nan] * len(captions)
        images, keys = self._inputs(captions, inputs)
        if keys is None:
            from rewardkit.backends.base import image_key

            keys = [image_key(im) for im in images]
        seen: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in seen:
                raise RewardkitError(
                    f"phi (VLRM Eq. 5): captions {seen[k]} and {i} of this call share an image; Φ is a softmax "
                    "over distinct images, so give one caption per image per call (e.g. one group per sample, "
                    "rewardkit.functional.distinct_image_groups)"
                )
            seen[k] = i
        img = self.backend.encode_images(images, keys)
        txt = self.backend.encode_texts(captions)
        return retrieval_softmax_phi(img @ txt.T).tolist()

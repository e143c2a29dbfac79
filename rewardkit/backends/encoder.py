"""Dual encoders (CLIP-style): batched, cached image and text embeddings, L2-normalised."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import batched, dedupe, image_key, resolve_device, resolve_dtype
from rewardkit.backends.cache import EmbeddingCache, encode_distinct

if TYPE_CHECKING:
    import torch
    from PIL import Image


class TruncationWarning(UserWarning):
    """Captions longer than a model's context were truncated."""


class DualEncoder(ABC):
    """Base of CLIP-style backends: subclasses preprocess, tokenize and run the two towers."""

    model_id: str
    context_length: int

    def __init__(
        self,
        *,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 64,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self.cache = cache if cache is not None else EmbeddingCache()
        self.truncated = 0

    image_size: int
    """The side the eval transform resizes to (for reduced-scale decoding and the resize bound)."""

    @abstractmethod
    def image_transform(self, image: Image.Image) -> torch.Tensor:
        """The model's eval transform of one RGB picture: ``[C, H, W]`` (thread-safe: the image pipeline calls it)."""

    def _pixels(self, images: Sequence[Any]) -> torch.Tensor:
        """Preprocessed pixel batch: the image pipeline's where prepared, else the eval transform now."""
        from rewardkit.io.pipeline import model_pixels

        return model_pixels(images, self.model_id, self.image_transform)

    @abstractmethod
    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unnormalised image embeddings."""

    @abstractmethod
    def _tokens(self, texts: Sequence[str]) -> tuple[Any, int]:
        """Model inputs for ``texts`` and how many of them were truncated."""

    @abstractmethod
    def _text_features(self, tokens: Any) -> torch.Tensor:
        """Unnormalised text embeddings."""

    def encode_images(self, images: Sequence[Image.Image], keys: Sequence[str] | None = None) -> torch.Tensor:
        """``[n, d]`` float32 CPU embeddings; each distinct image (by ``keys`` or content) is encoded once."""
        import torch

        keys = list(keys) if keys is not None else [image_key(im) for im in images]

        def encode(batch: list[Image.Image]) -> torch.Tensor:
            pixels = self._pixels(batch).to(self.device, self.dtype)
            return torch.nn.functional.normalize(self._image_features(pixels).float(), dim=-1).cpu()

        with torch.inference_mode():
            table, index = encode_distinct(images, keys, self.cache, self.model_id, self.batch_size, encode)
        if table is None:
            return torch.zeros(0, 0)
        return table[torch.tensor(index, dtype=torch.long)]

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """``[n, d]`` float32 CPU embeddings; captions past the context are truncated with one warning."""
        import torch

        unique, index = dedupe(list(texts))
        # Batches of similar length waste less compute on padding; rows are put back in order below.
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        outs, truncated = [], 0
        with torch.inference_mode():
            for sl in batched(len(order), self.batch_size):
                tokens, n_trunc = self._tokens([unique[i] for i in order[sl]])
                truncated += n_trunc
                outs.append(torch.nn.functional.normalize(self._text_features(tokens).float(), dim=-1).cpu())
        if truncated:
            self.truncated += truncated
            warnings.warn(
                f"{truncated} of {len(unique)} distinct captions were longer than {self.model_id}'s "
                f"{self.context_length}-token context and were truncated",
                TruncationWarning,
                stacklevel=2,
            )
        if not unique:
            return torch.zeros(0, 0)
        table = torch.empty_like(torch.cat(outs))
        table[torch.tensor(order, dtype=torch.long)] = torch.cat(outs)
        return table[torch.tensor(index, dtype=torch.long)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, device={self.device}, dtype={self.dtype})"

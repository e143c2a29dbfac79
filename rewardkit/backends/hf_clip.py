"""transformers CLIP backend (``CLIPModel`` + its processor), for checkpoints in that format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import load_hf, processor_size
from rewardkit.backends.cache import EmbeddingCache
from rewardkit.backends.encoder import DualEncoder

if TYPE_CHECKING:
    import torch
    from PIL import Image


def _pooled(out: Any) -> torch.Tensor:
    """Projected features from ``get_*_features`` (a tensor, or an output with ``pooler_output``)."""
    return out if not hasattr(out, "pooler_output") else out.pooler_output


class HFCLIPBackend(DualEncoder):
    """A transformers ``CLIPModel`` from a hub name or a local ``save_pretrained`` folder."""

    def __init__(
        self,
        name: str,
        *,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 64,
        cache: EmbeddingCache | None = None,
    ) -> None:
        super().__init__(device=device, dtype=dtype, batch_size=batch_size, cache=cache)
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

        self.model_id = f"hf_clip:{name}"
        self.model = load_hf(CLIPModel, name).to(self.device, self.dtype).eval()
        self.image_processor = load_hf(CLIPImageProcessor, name)
        self.image_size = processor_size(self.image_processor)
        self.tokenizer = load_hf(AutoTokenizer, name)
        self.context_length = int(self.model.config.text_config.max_position_embeddings)

    def image_transform(self, image: Image.Image) -> torch.Tensor:
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return _pooled(self.model.get_image_features(pixel_values=pixels))

    def _tokens(self, texts: Sequence[str]) -> tuple[Any, int]:
        full = self.tokenizer(list(texts))["input_ids"]
        n_trunc = sum(len(ids) > self.context_length for ids in full)
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.context_length, return_tensors="pt"
        )
        return enc.to(self.device), n_trunc

    def _text_features(self, tokens: Any) -> torch.Tensor:
        return _pooled(
            self.model.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )
        )

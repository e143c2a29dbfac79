"""BLIP-2 captioner via transformers ``Blip2ForConditionalGeneration`` (the policy of VLRM)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import batched, load_hf, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import torch
    from PIL import Image

VLRM_GENERATION: dict[str, Any] = {
    "num_beams": 5,
    "no_repeat_ngram_size": 2,
    "min_new_tokens": 4,
    "max_new_tokens": 60,
    "do_sample": False,
}
"""Generation settings of VLRM Table 2 (beam search, no sampling)."""

SAMPLING: dict[str, Any] = {
    "do_sample": True,
    "num_beams": 1,
    "temperature": 1.0,
    "top_k": 0,
    "max_new_tokens": 60,
}
"""Plain ancestral sampling (the base that ``do_sample=True`` overrides start from)."""


def clean_caption(text: str) -> str:
    """Decoded caption tidied: no space before punctuation, single spaces, stripped."""
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


class Blip2Captioner:
    """A BLIP-2 captioner: ``Salesforce/blip2-opt-2.7b`` or a folder in the same format."""

    def __init__(self, name: str, *, device: str = "auto", dtype: str = "fp32", batch_size: int = 16) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForConditionalGeneration

        self.name = name
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self.model = load_hf(Blip2ForConditionalGeneration, name, dtype=self.dtype).to(self.device).eval()
        self.image_processor = load_hf(AutoImageProcessor, name)
        self.tokenizer = load_hf(AutoTokenizer, name)

    def pixel_values(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Processed pixels ``[n, 3, H, W]`` on the model's device and dtype."""
        from rewardkit.io.pipeline import picture

        pix = self.image_processor(images=[picture(im) for im in images], return_tensors="pt")
        return pix["pixel_values"].to(self.device, self.dtype)

    def prompt_ids(self, n: int) -> torch.Tensor:
        """``<image> * num_query_tokens + BOS`` for ``n`` images (the captioning prompt)."""
        import torch

        cfg = self.model.config
        start = [cfg.image_token_index] * cfg.num_query_tokens + [cfg.text_config.bos_token_id]
        return torch.tensor([start] * n, dtype=torch.long, device=self.device)

    def decode(self, sequences: torch.Tensor) -> list[str]:
        """Captions from generated ids (prompt and special tokens dropped)."""
        n_prompt = self.model.config.num_query_tokens + 1
        return [
            clean_caption(t)
            for t in self.tokenizer.batch_decode(sequences[:, n_prompt:], skip_special_tokens=True)
        ]

    def generate_ids(self, pixel_values: torch.Tensor, **generation: Any) -> torch.Tensor:
        """Generated ids, prompt included, for a batch of processed images."""
        import torch

        settings = {**(SAMPLING if generation.get("do_sample") else VLRM_GENERATION), **generation}
        ids = self.prompt_ids(pixel_values.shape[0])
        with torch.inference_mode():
            return self.model.generate(
                pixel_values=pixel_values,
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pad_token_id=self.tokenizer.pad_token_id,
                **settings,
            )

    def caption(self, images: Sequence[Image.Image], progress: Any = None, **generation: Any) -> list[str]:
        """One caption per image (VLRM Table 2 settings unless overridden)."""
        out: list[str] = []
        for sl in batched(len(images), self.batch_size):
            seqs = self.generate_ids(self.pixel_values(images[sl]), **generation)
            out.extend(self.decode(seqs))
            if progress is not None:
                progress(sl.stop - sl.start)
        return out

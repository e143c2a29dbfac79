"""Any Hugging Face image-to-text captioner: BLIP, GIT, BLIP-2, InstructBLIP and chat VLMs, with a prompt.

Loaded with ``AutoModelForImageTextToText`` (``AutoModelForVision2Seq`` for older architectures)
and ``AutoProcessor``; generation is greedy unless settings say otherwise, as lmms-eval decodes.
A chat model's prompt goes through the processor's chat template when it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import batched, load_hf, resolve_device, resolve_dtype
from rewardkit.backends.blip2_captioner import clean_caption
from rewardkit.errors import RewardkitError

if TYPE_CHECKING:
    from PIL import Image

GREEDY: dict[str, Any] = {"do_sample": False, "num_beams": 1, "max_new_tokens": 64}
"""lmms-eval's captioning decoding: greedy, a token cap per task."""


def _model_class(name: str) -> Any:
    import transformers

    from rewardkit.backends.base import load_hf as _load

    config = _load(transformers.AutoConfig, name)
    for auto in ("AutoModelForImageTextToText", "AutoModelForVision2Seq"):
        cls = getattr(transformers, auto, None)
        if cls is not None and type(config) in getattr(cls, "_model_mapping", {}):
            return cls
    arch = (getattr(config, "architectures", None) or [None])[0]
    if arch and hasattr(transformers, arch):
        return getattr(transformers, arch)
    raise RewardkitError(
        f"{name}: {type(config).__name__} is not an image-to-text model transformers can load "
        "(AutoModelForImageTextToText)"
    )


class HFCaptioner:
    """An image-to-text model from a hub id or a local folder; ``prompt`` is its task prompt (may be empty)."""

    def __init__(
        self,
        name: str,
        *,
        prompt: str = "",
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 16,
    ) -> None:
        from transformers import AutoProcessor

        self.name, self.prompt = name, prompt
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self.model = load_hf(_model_class(name), name, dtype=self.dtype).to(self.device).eval()
        self.processor = load_hf(AutoProcessor, name)

    def _text(self) -> str | None:
        if not self.prompt:
            return None
        template = getattr(self.processor, "chat_template", None)
        if template:
            messages = [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}
            ]
            return self.processor.apply_chat_template(messages, add_generation_prompt=True)
        return self.prompt

    def caption(self, images: Sequence[Image.Image], progress: Any = None, **generation: Any) -> list[str]:
        """One caption per image: greedy decoding unless ``generation`` says otherwise; the prompt is cut off."""
        import torch

        from rewardkit.io.pipeline import picture

        settings = {**GREEDY, **{k: v for k, v in generation.items() if v is not None}}
        text = self._text()
        tok = getattr(self.processor, "tokenizer", self.processor)
        out: list[str] = []
        for sl in batched(len(images), self.batch_size):
            batch = [picture(im) for im in images[sl]]
            kwargs: dict[str, Any] = {"images": batch, "return_tensors": "pt"}
            if text is not None:
                kwargs["text"] = [text] * len(batch)
                kwargs["padding"] = True
            inputs = self.processor(**kwargs).to(self.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            with torch.inference_mode():
                seqs = self.model.generate(**inputs, **settings)
            ids = inputs.get("input_ids")
            if (
                ids is not None
                and seqs.shape[1] >= ids.shape[1]
                and torch.equal(seqs[:, : ids.shape[1]], ids)
            ):
                seqs = seqs[:, ids.shape[1] :]  # decoder-only models return the prompt too
            texts = tok.batch_decode(seqs, skip_special_tokens=True)
            if self.prompt:
                texts = [t[len(self.prompt) :] if t.startswith(self.prompt) else t for t in texts]
            out.extend(clean_caption(t) for t in texts)
            if progress is not None:
                progress(sl.stop - sl.start)
        return out

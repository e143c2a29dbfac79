"""BLIP-2 image-text matching via transformers ``Blip2ForImageTextRetrieval`` (LAVIS's checkpoints)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rewardkit.backends.base import (
    batched,
    image_key,
    load_hf,
    processor_size,
    resolve_device,
    resolve_dtype,
)
from rewardkit.backends.cache import EmbeddingCache, encode_distinct
from rewardkit.backends.encoder import TruncationWarning

if TYPE_CHECKING:
    import torch
    from PIL import Image
    from transformers import Blip2ForImageTextRetrieval


def itm_logits_from_hidden(
    model: Blip2ForImageTextRetrieval,
    image_hidden: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
) -> torch.Tensor:
    """The ITM branch of ``Blip2ForImageTextRetrieval.forward`` from vision hidden states: ``[n, 2]``.

    Query tokens and caption run jointly through the Q-Former (cross-attending to the image);
    the ITM head's two-class logits are averaged over the query positions.
    """
    import torch

    m = model
    n = input_ids.shape[0]
    query_tokens = m.query_tokens.expand(n, -1, -1)
    n_query = query_tokens.shape[1]
    ones = torch.ones(n, n_query, dtype=attention_mask.dtype, device=attention_mask.device)
    mask = torch.cat([ones, attention_mask], 1)
    embeds = m.embeddings(input_ids=input_ids, query_embeds=query_tokens)
    image_mask = torch.ones(image_hidden.shape[:-1], dtype=torch.long, device=image_hidden.device)
    out = m.qformer(
        query_embeds=embeds,
        query_length=n_query,
        attention_mask=mask,
        encoder_hidden_states=image_hidden,
        encoder_attention_mask=image_mask,
    ).last_hidden_state
    return m.itm_head(out[:, :n_query, :].to(m.itm_head.weight.dtype)).mean(dim=1)


class Blip2ITMBackend:
    """BLIP-2 ITM and ITC scores for (image, caption) pairs; each distinct image is encoded once per call.

    ``itm_logits`` is the reward of VLRM Section 3.4 item 1: the *match* logit before softmax,
    i.e. ``logits_per_image[:, 1]`` of ``Blip2ForImageTextRetrieval(..., use_image_text_matching_head=True)``.
    That model averages the two-class logits of the ITM head over the query tokens (as LAVIS
    does); the paper's formula writes the softmax inside the average, the code does not.
    Captions are cut at ``max_length`` Q-Former tokens (LAVIS's ``max_txt_len`` is 32).
    """

    def __init__(
        self,
        name: str,
        *,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 32,
        max_length: int = 32,
        cache: EmbeddingCache | None = None,
    ) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForImageTextRetrieval

        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self.max_length = max_length
        self.model_id = f"blip2_itm:{name}"
        self.model = load_hf(Blip2ForImageTextRetrieval, name, dtype=self.dtype).to(self.device).eval()
        self.image_processor = load_hf(AutoImageProcessor, name)
        self.image_size = processor_size(self.image_processor)
        self.tokenizer = load_hf(AutoTokenizer, name)
        # Vision hidden states are large (257 x 1408 for ViT-g): keep a bounded number across calls.
        self.cache = cache if cache is not None else EmbeddingCache(max_items=256)
        self.truncated = 0

    def image_transform(self, image: Image.Image) -> torch.Tensor:
        """The processor's eval transform of one RGB picture, ``[3, H, W]`` (the image pipeline calls it)."""
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]

    def _vision(
        self, images: Sequence[Image.Image], keys: Sequence[str] | None
    ) -> tuple[torch.Tensor, list[int]]:
        """Vision-encoder hidden states of every distinct image, and each input's row in them."""

        from rewardkit.io.pipeline import model_pixels

        keys = list(keys) if keys is not None else [image_key(im) for im in images]

        def encode(batch: list[Image.Image]) -> torch.Tensor:
            pix = model_pixels(batch, self.model_id, self.image_transform)
            return self.model.vision_model(
                pixel_values=pix.to(self.device, self.model.vision_model.dtype)
            ).last_hidden_state

        table, index = encode_distinct(images, keys, self.cache, self.model_id, self.batch_size, encode)
        if table is None:
            raise ValueError("no images given")
        return table, index

    def _tokens(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        n_trunc = sum(len(ids) > self.max_length for ids in self.tokenizer(list(texts))["input_ids"])
        if n_trunc:
            self.truncated += n_trunc
            warnings.warn(
                f"{n_trunc} of {len(texts)} captions were longer than {self.max_length} Q-Former tokens and were truncated",
                TruncationWarning,
                stacklevel=3,
            )
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def itm_from_hidden(
        self, image_hidden: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Two-class ITM logits ``[n, 2]`` from vision hidden states, averaged over query tokens."""
        return itm_logits_from_hidden(self.model, image_hidden, input_ids, attention_mask)

    def itm_logits(
        self, images: Sequence[Image.Image], texts: Sequence[str], keys: Sequence[str] | None = None
    ) -> torch.Tensor:
        """Match logit (before softmax) of every (images[i], texts[i]) pair, float32 CPU ``[n]``."""
        import torch

        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images for {len(texts)} captions")
        if not texts:
            return torch.zeros(0)
        out = []
        with torch.inference_mode():
            hidden, index = self._vision(images, keys)
            idx = torch.tensor(index, dtype=torch.long)
            for sl in batched(len(texts), self.batch_size):
                tok = self._tokens(texts[sl])
                h = hidden[idx[sl]].to(self.device)
                out.append(
                    self.itm_from_hidden(h, tok["input_ids"], tok["attention_mask"])[:, 1].float().cpu()
                )
        return torch.cat(out) if out else torch.zeros(0)

    def itc_image_embeds(
        self, images: Sequence[Image.Image], keys: Sequence[str] | None = None
    ) -> tuple[torch.Tensor, list[int]]:
        """Normalised ITC query embeddings ``[n_distinct, Q, D]`` of the distinct images, and each input's row."""
        import torch
        import torch.nn.functional as F

        m = self.model
        queries = []
        with torch.inference_mode():
            hidden, index = self._vision(images, keys)
            for sl in batched(hidden.shape[0], self.batch_size):
                h = hidden[sl].to(self.device)
                q = m.qformer(
                    query_embeds=m.query_tokens.expand(h.shape[0], -1, -1),
                    encoder_hidden_states=h,
                    encoder_attention_mask=torch.ones(h.shape[:-1], dtype=torch.long, device=h.device),
                ).last_hidden_state
                queries.append(
                    F.normalize(m.vision_projection(q.to(m.vision_projection.weight.dtype)), dim=-1)
                )
        return torch.cat(queries), index

    def itc_text_embeds(self, texts: Sequence[str]) -> torch.Tensor:
        """Normalised ITC text embeddings ``[n, D]`` (the Q-Former's [CLS], projected)."""
        import torch
        import torch.nn.functional as F

        m = self.model
        out = []
        with torch.inference_mode():
            for sl in batched(len(texts), self.batch_size):
                tok = self._tokens(texts[sl])
                t = m.qformer(
                    query_embeds=m.embeddings(input_ids=tok["input_ids"]),
                    query_length=0,
                    attention_mask=tok["attention_mask"],
                ).last_hidden_state
                out.append(
                    F.normalize(m.text_projection(t[:, 0, :].to(m.text_projection.weight.dtype)), dim=-1)
                )
        return torch.cat(out)

    def itc_cosine(
        self, images: Sequence[Image.Image], texts: Sequence[str], keys: Sequence[str] | None = None
    ) -> torch.Tensor:
        """ITC similarity (max over query tokens of the cosine) of every pair, float32 CPU ``[n]``."""
        import torch

        if not texts:
            return torch.zeros(0)
        img, index = self.itc_image_embeds(images, keys)
        txt = self.itc_text_embeds(texts)
        idx = torch.tensor(index, dtype=torch.long, device=img.device)
        return torch.einsum("nqd,nd->nq", img[idx], txt).max(dim=1).values.float().cpu()

    def itc_matrix(self, images: Sequence[Image.Image], texts: Sequence[str]) -> torch.Tensor:
        """ITC similarity of every text with every image, ``[n_texts, n_images]`` (retrieval)."""
        import torch

        img, index = self.itc_image_embeds(images)
        img = img[torch.tensor(index, dtype=torch.long, device=img.device)]
        txt = self.itc_text_embeds(texts)
        return torch.einsum("iqd,td->tiq", img, txt).max(dim=-1).values.float().cpu()

"""OpenCLIP backend: ``open_clip.create_model_and_transforms`` with its eval transform."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import CheckpointNotFoundError, hub_reachable, missing_checkpoint
from rewardkit.backends.cache import EmbeddingCache
from rewardkit.backends.encoder import DualEncoder
from rewardkit.errors import RewardkitError

if TYPE_CHECKING:
    import torch
    from PIL import Image


def _hub_id(name: str, pretrained: str | None) -> str | None:
    """The Hugging Face repository behind an open_clip name or pretrained tag, if any."""
    import open_clip

    if name.startswith("hf-hub:"):
        return name[len("hf-hub:") :]
    if pretrained and not Path(pretrained).exists():
        cfg = open_clip.get_pretrained_cfg(name, pretrained)
        return (cfg.get("hf_hub") or "").rstrip("/") or None
    return None


def _weights_cached(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin", "open_clip_config.json"):
        if isinstance(try_to_load_from_cache(repo, filename), str):
            return True
    return False


class OpenCLIPBackend(DualEncoder):
    """An OpenCLIP model: ``name`` is an architecture (``ViT-g-14``), ``hf-hub:org/repo`` or ``local-dir:PATH``.

    ``pretrained`` is a tag from ``open_clip.list_pretrained()`` or a local checkpoint file.
    Images go through the model's eval transform (resize shortest side, center crop).
    """

    def __init__(
        self,
        name: str,
        pretrained: str | None = None,
        *,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 64,
        cache: EmbeddingCache | None = None,
    ) -> None:
        super().__init__(device=device, dtype=dtype, batch_size=batch_size, cache=cache)
        import open_clip

        self.model_id = f"open_clip:{name}" + (f":{pretrained}" if pretrained else "")
        if name.startswith("local-dir:") and not Path(name[len("local-dir:") :]).is_dir():
            raise CheckpointNotFoundError(f"open_clip folder {name[len('local-dir:') :]!r} does not exist")
        if not name.startswith(("hf-hub:", "local-dir:")) and name not in open_clip.list_models():
            from rewardkit.registry import did_you_mean

            hint = did_you_mean(name, open_clip.list_models(), 3)
            raise RewardkitError(f"unknown open_clip architecture {name!r}{hint}")
        repo = _hub_id(name, pretrained)
        if repo and not _weights_cached(repo) and not hub_reachable():
            raise missing_checkpoint(repo)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=pretrained, device=self.device
            )
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            if isinstance(exc, RuntimeError) and not (
                "Unknown" in str(exc) or "not found" in str(exc) or name.startswith("local-dir:")
            ):
                raise
            reason = " ".join(str(exc).split())[:200]
            raise RewardkitError(f"cannot load open_clip {name!r} / {pretrained!r}: {reason}") from None
        self.model = model.to(self.device, self.dtype).eval()
        self.preprocess = preprocess
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(max(size) if isinstance(size, (tuple, list)) else size)
        self.tokenizer = open_clip.get_tokenizer(name)
        self.context_length = int(getattr(self.tokenizer, "context_length", 77))

    def image_transform(self, image: Image.Image) -> torch.Tensor:
        return self.preprocess(image)

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def _tokens(self, texts: Sequence[str]) -> tuple[Any, int]:
        tok = self.tokenizer
        if hasattr(tok, "encode"):  # open_clip's SimpleTokenizer: sot + tokens + eot
            n_trunc = sum(len(tok.encode(t)) + 2 > self.context_length for t in texts)
        else:
            inner = getattr(tok, "tokenizer", None)
            n_trunc = sum(len(inner(t)["input_ids"]) > self.context_length for t in texts) if inner else 0
        return tok(list(texts)).to(self.device), n_trunc

    def _text_features(self, tokens: Any) -> torch.Tensor:
        return encode_text_trimmed(self.model, tokens)


def encode_text_trimmed(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """``model.encode_text(tokens)`` run on the shortest context that still holds every pooled token.

    open_clip pads every caption to the full context (77 tokens); under the causal mask of CLIP's
    text tower no position attends to a later one, so positions after the pooled (EOT/EOS) token
    cannot change the result and are skipped (COCO captions need ~15 of 77). Models without a
    causal mask or with another pooling fall back to ``encode_text``.
    """
    import open_clip
    import torch

    pool = getattr(model, "text_pool_type", None)
    mask = getattr(model, "attn_mask", None)
    if type(model).encode_text is not open_clip.CLIP.encode_text or mask is None or tokens.ndim != 2:
        return model.encode_text(tokens)
    if pool == "argmax":
        idx = tokens.argmax(dim=-1)
    elif pool == "eos" and getattr(model, "text_eos_id", None) is not None:
        idx = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        return model.encode_text(tokens)
    n = int(idx.max()) + 1
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens[:, :n]).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.ln_final(model.transformer(x, attn_mask=mask[:n, :n]))
    x = x[torch.arange(x.shape[0], device=x.device), idx]
    proj = model.text_projection
    if proj is None:
        return x
    return proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj

"""Reference causal LM (``AutoModelForCausalLM``): mean token log-probability of captions."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.backends.base import batched, load_hf, resolve_device, resolve_dtype
from rewardkit.backends.encoder import TruncationWarning

if TYPE_CHECKING:
    import torch


class CausalLMBackend:
    """ref(text) of VLRM Section 3.4 item 2: (1/n) sum_k log p(t_k | BOS, t_<k) under a reference LM.

    Counted tokens: the caption's tokens plus EOS (``include_eos=True``, the default), since
    VLRM's t_1..t_n end with EOS when generation finished; BOS is context only and never
    counted. The caption is tokenized as given, without special tokens; a tokenizer without
    a BOS token uses EOS as the context token (GPT-2 style).
    """

    def __init__(
        self,
        name: str,
        *,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 32,
        include_eos: bool = True,
        max_length: int | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self.include_eos = include_eos
        self.model_id = f"causal_lm:{name}"
        self.model = load_hf(AutoModelForCausalLM, name, dtype=self.dtype).to(self.device).eval()
        self.tokenizer = load_hf(AutoTokenizer, name)
        self.context: Callable[[], Any] = contextlib.nullcontext
        self._setup(name, max_length)

    @classmethod
    def shared(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        context: Callable[[], Any] = contextlib.nullcontext,
        device: Any = None,
        batch_size: int = 32,
        include_eos: bool = True,
        max_length: int | None = None,
    ) -> CausalLMBackend:
        """A backend over an already loaded causal LM (e.g. a policy's frozen LM), run inside ``context()``."""
        self = cls.__new__(cls)
        param = next(model.parameters())
        self.device, self.dtype = (param.device if device is None else device), param.dtype
        self.batch_size, self.include_eos = batch_size, include_eos
        self.model_id = f"causal_lm:{name}"
        self.model, self.tokenizer, self.context = model, tokenizer, context
        self._setup(name, max_length)
        return self

    def _setup(self, name: str, max_length: int | None) -> None:
        bos = self.tokenizer.bos_token_id
        self.bos_id = bos if bos is not None else self.tokenizer.eos_token_id
        self.eos_id = self.tokenizer.eos_token_id
        if self.bos_id is None:
            raise ValueError(f"{name}: the tokenizer has neither a BOS nor an EOS token")
        limit = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.max_length = int(max_length or limit)
        self.truncated = 0

    def sequences(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per caption: [BOS] + caption + [EOS if include_eos], cut to the model's length."""
        rows, n_trunc = [], 0
        for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            row = [self.bos_id, *ids] + (
                [self.eos_id] if self.include_eos and self.eos_id is not None else []
            )
            if len(row) > self.max_length:
                row, n_trunc = row[: self.max_length], n_trunc + 1
            rows.append(row)
        if n_trunc:
            self.truncated += n_trunc
            warnings.warn(
                f"{n_trunc} captions were longer than {self.max_length} tokens and were truncated",
                TruncationWarning,
                stacklevel=3,
            )
        return rows

    def mean_logprob(self, texts: Sequence[str]) -> torch.Tensor:
        """Mean log-probability of each caption's counted tokens, float32 CPU ``[n]`` (NaN for none)."""
        import torch

        rows = self.sequences(texts)
        out = []
        with torch.inference_mode(), self.context():
            for sl in batched(len(rows), self.batch_size):
                chunk = rows[sl]
                width = max(len(r) for r in chunk)
                ids = torch.full((len(chunk), width), self.bos_id, dtype=torch.long)
                mask = torch.zeros(len(chunk), width, dtype=torch.long)
                for i, r in enumerate(chunk):
                    ids[i, : len(r)] = torch.tensor(r)
                    mask[i, : len(r)] = 1
                ids, mask = ids.to(self.device), mask.to(self.device)
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
                counted = mask[:, 1:].float()
                total = (logp * counted).sum(-1)
                n = counted.sum(-1)
                out.append(
                    torch.where(n > 0, total / n.clamp(min=1), torch.full_like(total, float("nan"))).cpu()
                )
        return torch.cat(out) if out else torch.zeros(0)

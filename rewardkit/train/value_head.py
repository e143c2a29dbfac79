"""Value heads V_k over the language model's (LoRA'd) hidden states; swappable by name."""

from __future__ import annotations

import torch
from torch import nn


class TransformerValueHead(nn.Module):
    """A causal pre-norm transformer block over the hidden states, then an MLP to one value per token.

    VLRM (Section 4.2) reports that a single linear layer collapsed after some steps and uses a
    deeper head (275M parameters for OPT-2.7B; its Figure 2 is not in the text). This head keeps
    that idea at any width: attention lets V_k look at the whole prefix, the MLP maps to a scalar.
    """

    def __init__(self, hidden: int, *, layers: int = 1, heads: int = 4, mlp_ratio: int = 4) -> None:
        super().__init__()
        heads = heads if hidden % heads == 0 else 1
        block = nn.TransformerEncoderLayer(
            hidden,
            heads,
            mlp_ratio * hidden,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, L, H]`` -> ``[B, L]`` values (causal: position k sees positions <= k).

        Padding is on the right, so the causal mask alone keeps it out of every real position.
        """
        n = hidden.shape[1]
        causal = torch.triu(torch.full((n, n), float("-inf"), device=hidden.device), diagonal=1)
        x = self.blocks(hidden.float(), mask=causal, is_causal=True)
        return self.mlp(self.norm(x)).squeeze(-1)


class LinearValueHead(nn.Module):
    """hidden -> 1 per token (the head VLRM found to collapse; kept for ablations)."""

    def __init__(self, hidden: int, **_: object) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, 1)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.proj(hidden.float()).squeeze(-1)


def build_value_head(name: str, hidden: int, **options: object) -> nn.Module:
    """A value head by its name in :data:`rewardkit.registry.VALUE_HEADS` (``transformer`` or ``linear``)."""
    from rewardkit.registry import VALUE_HEADS

    return VALUE_HEADS.get(name)(hidden, **options)

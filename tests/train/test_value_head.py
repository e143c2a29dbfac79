"""Value heads: one value per position, causal (V_k sees only positions <= k), chosen by name."""

import pytest
import torch

from rewardkit.errors import RewardkitError
from rewardkit.train.value_head import LinearValueHead, TransformerValueHead, build_value_head


def test_the_transformer_head_is_causal_and_gives_one_value_per_position():
    torch.manual_seed(0)
    head = TransformerValueHead(8, layers=2).eval()
    hidden = torch.randn(2, 5, 8)
    changed = hidden.clone()
    changed[:, 3:] = torch.randn(2, 2, 8)  # only positions 3 and 4 differ
    with torch.no_grad():
        a, b = head(hidden), head(changed)
    assert a.shape == (2, 5)
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not torch.allclose(a[:, 3:], b[:, 3:])


def test_the_linear_head_is_one_projection_per_token():
    head = LinearValueHead(4)
    hidden = torch.randn(3, 2, 4)
    expected = hidden @ head.proj.weight[0] + head.proj.bias[0]
    assert torch.allclose(head(hidden), expected, atol=1e-6)


def test_heads_are_built_by_registered_name():
    assert isinstance(build_value_head("transformer", 8, layers=1), TransformerValueHead)
    assert isinstance(build_value_head("linear", 8, layers=3), LinearValueHead)
    with pytest.raises(RewardkitError, match="unknown value head 'linaer'.*did you mean 'linear'"):
        build_value_head("linaer", 8)

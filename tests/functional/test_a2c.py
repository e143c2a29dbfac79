"""The A2C formulas (VLRM Eqs. 2-4, entropy bonus) against hand-computed values and scipy."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from rewardkit.functional.a2c import (
    a2c_advantages,
    advantage_moments,
    mean_token_entropy,
    normalize_with_moments,
    normalized_advantages,
    policy_loss,
    token_entropy,
    value_loss,
)


def test_token_entropy_equals_scipy():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 11) * 3
    got = token_entropy(logits)
    probs = torch.softmax(logits.double(), -1).numpy()
    expected = np.array([[entropy(probs[b, t]) for t in range(3)] for b in range(2)])
    assert got.shape == (2, 3)
    assert np.allclose(got.numpy(), expected, atol=1e-5)


def test_mean_token_entropy_is_per_caption_then_over_captions():
    torch.manual_seed(1)
    logits = torch.randn(3, 4, 7)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    probs = torch.softmax(logits.double(), -1).numpy()
    per_caption = []
    for b in range(3):
        n = int(mask[b].sum())
        per_caption.append(sum(entropy(probs[b, t]) for t in range(n)) / n)
    got = mean_token_entropy(token_entropy(logits), mask)
    assert float(got) == pytest.approx(sum(per_caption) / 3, rel=1e-5)
    # by hand: captions of 2 and 1 tokens
    ent = torch.tensor([[1.0, 3.0], [4.0, 9.0]])
    assert float(mean_token_entropy(ent, torch.tensor([[1.0, 1.0], [1.0, 0.0]]))) == 3.0


def test_advantage_normalisation_and_losses():
    a = torch.tensor([[1.0, 2.0, 9.0], [3.0, 4.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    m = normalized_advantages(a, mask)
    real = m[mask.bool()]
    assert real.mean().abs() < 1e-6 and (real.std() - 1).abs() < 1e-6 and m[0, 2] == 0
    v = torch.zeros(2, 3)
    # per caption mean over its own tokens, then the mean over captions (VLRM Eq. 2)
    assert value_loss(v, a, mask) == pytest.approx(((1 + 4) / 2 + (9 + 16 + 25) / 3) / 2)
    logp = torch.log(torch.full((2, 3), 0.5))
    assert policy_loss(logp, torch.ones(2, 3), mask, "prob") == pytest.approx(-0.5)


def test_advantage_statistics_over_processes_equal_the_concatenated_batch():
    torch.manual_seed(0)
    adv = torch.randn(10, 7) * 3 + 1
    mask = (torch.rand(10, 7) > 0.3).float()
    whole = normalized_advantages(adv, mask)
    parts = [(adv[:4], mask[:4]), (adv[4:], mask[4:])]
    summed = sum(advantage_moments(a, m) for a, m in parts)  # what accelerator.reduce(..., "sum") gives
    split = torch.cat([normalize_with_moments(a, m, summed) for a, m in parts])
    assert torch.allclose(split, whole, atol=1e-6)
    real = adv[mask.bool()]
    expected = torch.where(mask.bool(), (adv - real.mean()) / real.std(), torch.zeros_like(adv))
    assert torch.allclose(whole, expected, atol=1e-5)


def test_group_baseline_and_logprob_objective_by_hand():
    returns = torch.tensor([[4.0, 2.0, 0.0], [1.0, 1.0, 1.0], [6.0, 0.0, 0.0], [3.0, 3.0, 0.0]])
    values = torch.tensor([[1.0, 1.0, 9.0], [0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    group = torch.tensor([0, 0, 1, 1])
    # other captions' total (first return): caption 0 -> 1, caption 1 -> 4, caption 2 -> 3, caption 3 -> 6
    expected = torch.tensor(
        [
            [4 - (1 + 1) / 2, 2 - (1 + 1) / 2, 0.0],
            [1 - (0 + 4) / 2, 1 - (2 + 4) / 2, 1 - (0 + 4) / 2],
            [6 - (2 + 3) / 2, 0.0, 0.0],
            [3 - (1 + 6) / 2, 3 - (1 + 6) / 2, 0.0],
        ]
    )
    assert torch.equal(a2c_advantages(returns, values, mask, group=group), expected)
    assert torch.equal(a2c_advantages(returns, values, mask), (returns - values) * mask)
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.9], [0.1, 0.2, 0.4]]))
    m = torch.tensor([[1.0, -2.0, 5.0], [0.5, 0.5, -1.0]])
    mk = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    caption0 = (math.log(0.5) * 1.0 + math.log(0.25) * -2.0) / 2
    caption1 = (math.log(0.1) * 0.5 + math.log(0.2) * 0.5 + math.log(0.4) * -1.0) / 3
    assert float(policy_loss(logp, m, mk, "logprob")) == pytest.approx(-(caption0 + caption1) / 2, rel=1e-6)
    prob0 = (0.5 * 1.0 + 0.25 * -2.0) / 2
    prob1 = (0.1 * 0.5 + 0.2 * 0.5 + 0.4 * -1.0) / 3
    assert float(policy_loss(logp, m, mk, "prob")) == pytest.approx(-(prob0 + prob1) / 2, rel=1e-6)

"""CLIP Recall against a brute-force reference, with ties."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.functional import clip_recall, retrieval_ranks


def brute_force(sim, image_index):
    ranks = []
    for i in range(sim.shape[0]):
        true = sim[i, image_index[i]].item()
        ranks.append(1 + sum(1 for j in range(sim.shape[1]) if sim[i, j].item() > true))
    out = {f"R@{k}": sum(r <= k for r in ranks) / len(ranks) for k in (1, 5, 10)}
    out["MRR"] = sum(1 / r for r in ranks) / len(ranks)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 25), st.integers(0, 10_000))
def test_recall_equals_brute_force_with_ties(n_texts, n_images, seed):
    g = torch.Generator().manual_seed(seed)
    sim = torch.randint(0, 4, (n_texts, n_images), generator=g).float() / 4  # many ties
    idx = torch.randint(0, n_images, (n_texts,), generator=g)
    got = clip_recall(sim, idx)
    want = brute_force(sim, idx)
    assert got == pytest.approx(want, abs=1e-12)


def test_ties_count_in_favour_of_the_true_image():
    sim = torch.tensor([[0.5, 0.5, 0.5]])
    assert retrieval_ranks(sim, torch.tensor([2])).tolist() == [1]


def test_chunking_does_not_change_ranks():
    g = torch.Generator().manual_seed(1)
    sim = torch.randn(50, 20, generator=g)
    idx = torch.randint(0, 20, (50,), generator=g)
    assert torch.equal(retrieval_ranks(sim, idx, chunk=7), retrieval_ranks(sim, idx, chunk=1000))


def test_default_index_needs_square():
    with pytest.raises(ValueError, match="image_index"):
        clip_recall(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        clip_recall(torch.zeros(2, 2), torch.tensor([0, 2]))

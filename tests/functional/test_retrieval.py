"""CLIP Recall and its tie count against a brute-force reference; non-finite inputs refused."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.errors import NonFiniteError
from rewardkit.functional import (
    clip_recall,
    clip_score,
    kendall_tau,
    pairwise_accuracy,
    ref_clip_score,
    retrieval_ranks,
    tied_rankings,
)
from rewardkit.functional.clip import corpus_clip_score
from rewardkit.functional.retrieval import truncate_chars
from rewardkit.scoring.summary import tie_warning


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


def brute_force_ties(sim, image_index):
    tied = 0
    for i in range(sim.shape[0]):
        true = sim[i, image_index[i]].item()
        tied += any(sim[i, j].item() == true for j in range(sim.shape[1]) if j != image_index[i])
    return tied


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 25), st.integers(0, 10_000))
def test_tied_rankings_equal_brute_force(n_texts, n_images, seed):
    g = torch.Generator().manual_seed(seed)
    sim = torch.randint(0, 4, (n_texts, n_images), generator=g).float() / 4
    idx = torch.randint(0, n_images, (n_texts,), generator=g)
    assert tied_rankings(sim, idx, chunk=7) == brute_force_ties(sim, idx)


def test_a_collapsed_evaluator_reads_as_perfect_recall_but_every_ranking_is_tied():
    sim = torch.full((12, 12), 0.3)  # constant similarities: IC3's tie convention gives rank 1 to all
    assert clip_recall(sim) == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "MRR": 1.0}
    assert tied_rankings(sim) == 12
    assert tie_warning(12, 12) is not None and "collapsed" in tie_warning(12, 12)
    g = torch.Generator().manual_seed(0)
    assert tied_rankings(torch.randn(12, 12, generator=g)) == 0
    assert tie_warning(0, 12) is None and tie_warning(1, 100) is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_similarities_raise_naming_the_first(bad):
    sim = torch.eye(4)
    sim[2, 1] = bad  # NaN compares false: unguarded, caption 2 would still rank its image first
    for fn in (clip_recall, retrieval_ranks, tied_rankings):
        with pytest.raises(NonFiniteError, match=r"1 non-finite value .*index \(2, 1\)"):
            fn(sim)


def test_other_metrics_refuse_non_finite_inputs_and_rewards_propagate_nan():
    nan = float("nan")
    with pytest.raises(NonFiniteError, match="CLIP cosines"):
        corpus_clip_score(torch.tensor([0.3, nan]))
    with pytest.raises(NonFiniteError, match="index 1"):
        kendall_tau([1.0, float("inf"), 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(NonFiniteError, match="scores_b"):
        pairwise_accuracy([0.1, 0.2], [nan, 0.1], [True, False])
    # Per-caption rewards: NaN in, NaN out (as TRL treats a reward it cannot compute), never a number.
    assert torch.isnan(clip_score(torch.tensor([nan]))).all()
    ref = ref_clip_score(torch.tensor([0.7, nan, 0.5]), torch.tensor([0.3, 0.2, float("inf")]))
    assert ref[0].item() == pytest.approx(2 * 0.7 * 0.3 / 1.0) and torch.isnan(ref[1:]).all()


def _per_image_reference(ranks: list[int], image_of: list[int]) -> dict:
    """Brute force: each image's captions' hits averaged, then the images averaged."""
    by_image = collections.defaultdict(list)
    for r, i in zip(ranks, image_of):
        by_image[i].append(r)
    out = {}
    for k in (1, 5, 10):
        out[f"R@{k}"] = sum(sum(r <= k for r in rs) / len(rs) for rs in by_image.values()) / len(by_image)
    out["MRR"] = sum(sum(1 / r for r in rs) / len(rs) for rs in by_image.values()) / len(by_image)
    return out


def _ic3_ranks(sim: torch.Tensor, image_of: list[int]) -> list[int]:
    """IC3's ``_compute_rank``: 1 + the number of images scoring strictly higher than the true one."""
    return [int((sim[t] > sim[t, image_of[t]]).sum()) + 1 for t in range(sim.shape[0])]


def test_clip_recall_per_caption_and_per_image_against_ic3():
    g = torch.Generator().manual_seed(0)
    image_of = [0] * 5 + [1] + [2, 2] + list(range(3, 15))  # unequal captions per image
    sim = torch.randn(len(image_of), 15, generator=g)
    for t, i in enumerate(image_of):
        sim[t, i] += 1.2 if i else -0.5  # image 0's five captions retrieve badly, others well
    ranks = _ic3_ranks(sim, image_of)
    per_caption = clip_recall(sim, torch.tensor(image_of))
    assert per_caption["R@1"] == pytest.approx(np.mean(np.array(ranks) <= 1))
    assert per_caption["MRR"] == pytest.approx(np.mean(1 / np.array(ranks)))
    per_image = clip_recall(sim, torch.tensor(image_of), average="image")
    assert per_image == pytest.approx(_per_image_reference(ranks, image_of))
    assert per_image["R@1"] != pytest.approx(per_caption["R@1"])


def test_ic3_character_cut():
    assert truncate_chars(["x" * 400, "short"]) == ["x" * 300, "short"]

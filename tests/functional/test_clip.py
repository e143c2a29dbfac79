"""CLIPScore, RefCLIPScore and the retrieval-softmax Φ of VLRM Eq. 5."""

import pytest
import torch

from rewardkit.functional import clip_score, ref_clip_score, retrieval_softmax_phi


def test_phi_matches_its_formula_elementwise():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(7, 7, generator=g)
    phi = retrieval_softmax_phi(s)
    n = s.shape[0]
    d = []
    for k in range(n):
        col = torch.exp(s[k, k]) / torch.exp(s[:, k]).sum()  # softmax over dim 0 (images) for text k
        row = torch.exp(s[k, k]) / torch.exp(s[k, :]).sum()  # softmax over dim 1 (texts) for image k
        d.append((col * row).item())
    d = torch.tensor(d)
    mean = d.mean()
    std = ((d - mean) ** 2).sum().div(n - 1).sqrt()
    torch.testing.assert_close(phi, (d - mean) / std, rtol=1e-5, atol=1e-6)
    assert abs(phi.mean().item()) < 1e-5 and abs(phi.std().item() - 1) < 1e-5


def test_phi_rewards_the_caption_that_retrieves_its_image():
    s = torch.full((4, 4), 0.1)
    s.fill_diagonal_(0.2)
    s[2, 2] = 0.9
    phi = retrieval_softmax_phi(s)
    assert phi.argmax().item() == 2


def test_phi_rejects_non_square_and_single():
    with pytest.raises(ValueError, match="square"):
        retrieval_softmax_phi(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        retrieval_softmax_phi(torch.zeros(1, 1))


def test_clip_score_and_ref_clip_score_definitions():
    cos = torch.tensor([0.3, -0.2, 0.4])
    cs = clip_score(cos)
    torch.testing.assert_close(cs, torch.tensor([0.75, 0.0, 1.0]))
    ref = torch.tensor([0.5, 0.5, -0.1])
    rcs = ref_clip_score(cs, ref)
    torch.testing.assert_close(rcs, torch.tensor([2 * 0.75 * 0.5 / 1.25, 0.0, 0.0]))

"""CLIPScore, RefCLIPScore and the retrieval-softmax Φ of VLRM Eq. 5."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
import torch

from rewardkit.functional import clip_score, ref_clip_score, retrieval_softmax_phi
from rewardkit.functional.clip import corpus_clip_score
from rewardkit.rewards.vision import CLIPScore, RefCLIPScore


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


class TableBackend:
    """A stand-in CLIP backend returning given embeddings (normalised, as real backends do)."""

    def __init__(self, images: dict, texts: dict) -> None:
        self.images, self.texts = images, texts

    def encode_images(self, images, keys=None):
        return torch.nn.functional.normalize(
            torch.tensor(np.stack([self.images[Pic.name_of(i)] for i in images])), dim=-1
        )

    def encode_texts(self, texts):
        return torch.nn.functional.normalize(torch.tensor(np.stack([self.texts[t] for t in texts])), dim=-1)


class Pic:
    """A 1x1 picture known by name: its pixel encodes its index in ``Pic.names``."""

    names: list[str] = []

    def __new__(cls, name: str):
        from PIL import Image

        cls.names.append(name)
        i = len(cls.names) - 1
        return Image.new("RGB", (1, 1), (i % 256, i // 256 % 256, 0))

    @classmethod
    def name_of(cls, image) -> str:
        r, g, _ = image.getpixel((0, 0))
        return cls.names[r + 256 * g]


def _clipscore_py(images, candidates, references, w=2.5):
    """Transcription of jmhessel/clipscore ``get_clip_score`` + ``get_refonlyclipscore`` + the F-score of ``main``,
    on precomputed features (rows already include the "A photo depicts " prefix)."""

    def normalize(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    images, cands = normalize(images), normalize(candidates)
    per = w * np.clip(np.sum(images * cands, axis=1), 0, None)
    flat, idxs = [], []
    for idx, refs in enumerate(references):
        flat.extend(refs)
        idxs.extend([idx for _ in refs])
    flat = normalize(np.vstack(flat))
    by_cand = collections.defaultdict(list)
    for feats, idx in zip(flat, idxs):
        by_cand[idx].append(feats)
    text_text = [np.max(c.dot(np.vstack(by_cand[i]).T)) for i, c in enumerate(cands)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return per, 2 * per * np.array(text_text) / (per + np.array(text_text))


def _case():
    """Four candidates: an ordinary one, a negative best reference cosine, both zero, a negative image cosine."""
    e = np.eye(4)
    images = {"i0": e[0], "i1": e[0], "i2": e[0], "i3": e[0]}
    texts = {
        "A photo depicts c0": 0.8 * e[0] + 0.6 * e[1],
        "A photo depicts r0": 0.6 * e[0] + 0.8 * e[1],
        "A photo depicts c1": 0.3 * e[0] + math.sqrt(1 - 0.09) * e[2],  # CLIP-S 0.75
        "A photo depicts r1": -0.05 * e[2] + math.sqrt(1 - 0.0025) * e[3] - 0.0 * e[0],
        "A photo depicts c2": e[2],  # cos with the image 0
        "A photo depicts r2": e[3],  # cos with the caption 0
        "A photo depicts c3": -0.5 * e[0] + math.sqrt(0.75) * e[1],
        "A photo depicts r3": e[1],
    }
    return images, texts


def test_refclipscore_reference_definition_equals_clipscore_py():
    images, texts = _case()
    backend = TableBackend(images, texts)
    caps, refs, names = ["c0", "c1", "c2", "c3"], [["r0"], ["r1"], ["r2"], ["r3"]], ["i0", "i1", "i2", "i3"]
    ims = [Pic(n) for n in names]
    feats = lambda keys: np.stack([texts[f"A photo depicts {k}"] for k in keys])  # noqa: E731
    per, theirs = _clipscore_py(np.stack([images[i] for i in names]), feats(caps), [feats(r) for r in refs])
    assert CLIPScore(backend).score(caps, images=ims) == pytest.approx(per.tolist(), abs=1e-6)
    ours = RefCLIPScore(backend, definition="clipscore.py").score(caps, images=ims, references=refs)
    for a, b in zip(ours, theirs.tolist()):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-6)
    b = math.sqrt(0.91) * -0.05  # cos(c1, r1): negative
    assert ours[1] == pytest.approx(2 * 0.75 * b / (0.75 + b), abs=1e-6) and math.isnan(ours[2])
    paper = RefCLIPScore(backend).score(caps, images=ims, references=refs)
    assert paper[1] == 0.0 and paper[2] == 0.0 and paper[0] == pytest.approx(ours[0], abs=1e-6)


def test_torchmetrics_convention_equals_torchmetrics(hf_clip_dir, images):
    from torchmetrics.functional.multimodal import clip_score as tm_clip_score
    from transformers import CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

    from rewardkit.backends.hf_clip import HFCLIPBackend

    class TensorFeatures(torch.nn.Module):
        """transformers 5 returns output objects from get_*_features; torchmetrics 1.x expects tensors."""

        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def get_image_features(self, *a, **k):
            return self.inner.get_image_features(*a, **k).pooler_output

        def get_text_features(self, *a, **k):
            return self.inner.get_text_features(*a, **k).pooler_output

    def load():
        from transformers import CLIPImageProcessor

        tok = PreTrainedTokenizerFast.from_pretrained(hf_clip_dir)
        processor = CLIPProcessor(
            image_processor=CLIPImageProcessor.from_pretrained(hf_clip_dir), tokenizer=tok
        )
        return TensorFeatures(CLIPModel.from_pretrained(hf_clip_dir).eval()), processor

    caps = ["a red car", "a man in a green shirt", "two dogs near a tree"]
    pics = images[:3]
    backend = HFCLIPBackend(str(hf_clip_dir), device="cpu")
    ours = CLIPScore(backend, convention="torchmetrics").score(caps, images=pics)
    cos = torch.tensor(ours) / 100
    tensors = [torch.from_numpy(np.array(p.convert("RGB"))).permute(2, 0, 1) for p in pics]
    theirs = float(tm_clip_score(tensors, caps, model_name_or_path=load))
    assert corpus_clip_score(cos, "torchmetrics") == pytest.approx(theirs, abs=1e-3)
    assert (
        corpus_clip_score(torch.tensor([-0.2, -0.1]), "torchmetrics") == 0.0
    )  # the mean, not each pair, is clamped
    assert corpus_clip_score(torch.tensor([0.3, -0.1]), "torchmetrics") == pytest.approx(10.0)
    assert corpus_clip_score(torch.tensor([0.3, -0.1]), "hessel") == pytest.approx(0.375)

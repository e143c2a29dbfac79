"""The CLIPScore prompt and the best-reference search, against a brute-force loop over numpy arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rewardkit.metrics.clipscore import PROMPT, best_reference_cosines, prompted


class _Encoder:
    """Unit vectors from a fixed random table, one per distinct text (what a CLIP text tower returns)."""

    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.table = {}
        self.calls = []

    def encode_texts(self, texts):
        self.calls.append(list(texts))
        for t in texts:
            if t not in self.table:
                v = self.rng.normal(size=8)
                self.table[t] = v / np.linalg.norm(v)
        return torch.tensor(np.stack([self.table[t] for t in texts]), dtype=torch.float32)


def test_the_prompt_is_hessels():
    assert PROMPT == "A photo depicts"
    assert prompted(["a dog"]) == ["A photo depicts a dog"]
    assert prompted(["a dog"], "") == ["a dog"]


def test_best_reference_cosines_equal_a_brute_force_loop():
    enc = _Encoder()
    captions = ["a dog", "a cat", "a bird", "a fish"]
    refs = [["a dog on grass", "a puppy"], [], None, ["a fish", "a goldfish", "a shark"]]
    cand = enc.encode_texts(prompted(captions))
    got = best_reference_cosines(enc, cand, refs)
    assert len(enc.calls) == 2  # every reference encoded in one call
    for i, rs in enumerate(refs):
        if not rs:
            assert math.isnan(float(got[i]))
            continue
        c = enc.table["A photo depicts " + captions[i]]
        expected = max(float(np.dot(enc.table["A photo depicts " + r], c)) for r in rs)
        assert float(got[i]) == pytest.approx(expected, abs=1e-6)

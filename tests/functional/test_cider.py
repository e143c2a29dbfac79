"""cider_d equals pycocoevalcap's Cider (CIDEr-D) on the same tokenized input, quirks included."""

import random

import pytest
from pycocoevalcap.cider.cider import Cider

from rewardkit.functional import cider_d, ptb_tokenize


def _corpus(seed, n_img=200, vocab=30):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]

    def sent(lo=0):
        return " ".join(rng.choice(words) for _ in range(rng.randint(lo, 12)))

    cands = {f"i{k}": sent() for k in range(n_img)}
    refs = {f"i{k}": [sent(1) for _ in range(rng.randint(1, 5))] for k in range(n_img)}
    # ties and duplicates: identical candidates, a candidate equal to its reference, repeated refs
    cands["i1"] = cands["i0"]
    cands["i2"] = refs["i2"][0]
    refs["i3"] = [refs["i3"][0]] * 3
    return cands, refs


def _reference(cands, refs):
    score, per = Cider().compute_score(refs, {k: [v] for k, v in cands.items()})
    return score, dict(zip(refs.keys(), per))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pycocoevalcap(seed):
    cands, refs = _corpus(seed, vocab=[8, 30, 400][seed])
    want, want_per = _reference(cands, refs)
    got, got_per = cider_d(cands, refs, tokenize=False)
    assert got == pytest.approx(want, abs=1e-9)
    assert set(got_per) == set(want_per)
    for k in want_per:
        assert got_per[k] == pytest.approx(want_per[k], abs=1e-9)


def test_tokenize_applies_ptb_first():
    cands = {"a": "A Dog's ball.", "b": "Two cats, sleeping!"}
    refs = {"a": ["a dog's red ball", "the ball of a dog."], "b": ["two cats sleeping on a sofa", "cats."]}
    tok_c = dict(zip(cands, ptb_tokenize(list(cands.values()))))
    tok_r = {k: ptb_tokenize(v) for k, v in refs.items()}
    assert cider_d(cands, refs)[0] == pytest.approx(_reference(tok_c, tok_r)[0], abs=1e-12)


def test_single_image_and_empty_candidate():
    # one image: idf = log(1) - log(df) = 0 for every reference n-gram, as in the toolkit
    assert (
        cider_d({"a": "a dog"}, {"a": ["a dog"]}, tokenize=False)[0]
        == _reference({"a": "a dog"}, {"a": ["a dog"]})[0]
    )
    cands, refs = {"a": "", "b": "a cat"}, {"a": ["a dog"], "b": ["a cat"]}
    assert cider_d(cands, refs, tokenize=False)[1]["a"] == pytest.approx(
        _reference(cands, refs)[1]["a"], abs=1e-12
    )


def test_mismatched_ids_and_empty_references_are_errors():
    with pytest.raises(ValueError, match="same ids"):
        cider_d({"a": "x"}, {"b": ["x"]})
    with pytest.raises(ValueError, match="at least one reference"):
        cider_d({"a": "x"}, {"a": []})

"""toy-hard language: descriptions by hand, the grammar, and claims read back."""

import random

import pytest

from rewardkit.toy import hard as h

Obj = h.ToyObject


def _scene(*objs: Obj, bg: str = "black") -> h.Scene:
    return h.Scene(bg, tuple(objs))


def test_full_description_by_hand():
    s = _scene(
        Obj("circle", "red", "large", "striped", "middle center"),
        Obj("star", "blue", "small", "solid", "top left"),
        Obj("star", "blue", "small", "solid", "top right"),
        Obj("cross", "yellow", "large", "outlined", "middle left"),
        bg="white",
    )
    assert h.full(s) == (
        "a large striped red circle in the center, two small blue stars above it"
        " and a large outlined yellow cross left of it on a white background."
    )
    assert h.terse(s) == "a red circle."
    assert h.describe(s, **dict.fromkeys(h.DETAILS, False) | {"others": True}) == (
        "a red circle, two blue stars and a yellow cross."
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_descriptions_are_grammatical_and_their_claims_hold(seed):
    rng = random.Random(seed)
    for s in h.scenes(300, seed):
        for text in (h.full(s), h.terse(s), h.full(s, rng), h.describe(s, rng, **h.random_detail(rng))):
            assert h.is_grammatical(text), text
            report = h.detail_report(text, s)
            assert report["main"] is True, text
            assert all(v in (True, None) for v in report.values()), (text, report)


@pytest.mark.parametrize(
    "text",
    [
        "a red circles.",
        "two red circle.",
        "an red circle.",
        "a orange star.",
        "a red circle in the center in the center.",
        "a red circle above it.",
        "a red circle and a blue star on a gray background on a gray background.",
        "a red circle, two blue stars above it on a.",
        "red circle.",
    ],
)
def test_ungrammatical_captions_are_rejected(text):
    assert not h.is_grammatical(text)

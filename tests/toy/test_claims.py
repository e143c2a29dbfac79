"""Claim precision and recall of toy captions against the generator's ground truth, on hand-counted cases."""

import pytest

from rewardkit.registry import TIERS
from rewardkit.toy import hard, scenes
from rewardkit.toy.claims import ClaimCount, claim_metrics, count_claims

TOY_TIER, HARD_TIER = TIERS.get("toy"), TIERS.get("toy-hard")

# toy: a large red circle (top left) and a small blue square (bottom right) on gray.
# Its full description states 7 facts: 2 objects x (exists, size, position) + the background.
TOY = scenes.Scene(
    "gray",
    (
        scenes.ToyObject("circle", "red", "large", "top left"),
        scenes.ToyObject("square", "blue", "small", "bottom right"),
    ),
)

# toy-hard: a large striped red circle in the center, two small solid blue stars above it (top left,
# top center), a small outlined green square right of it (middle right), on white. Facts: main
# (exists, size, fill, cell) 4 + each star (exists, size, relation) 3 + 3 + square (exists, size,
# fill, relation) 4 + background 1 = 15.
HARD = hard.Scene(
    "white",
    (
        hard.ToyObject("circle", "red", "large", "striped", "middle center"),
        hard.ToyObject("star", "blue", "small", "solid", "top left"),
        hard.ToyObject("star", "blue", "small", "solid", "top center"),
        hard.ToyObject("square", "green", "small", "outlined", "middle right"),
    ),
)


@pytest.mark.parametrize(
    "caption, expected",
    [
        # the full description: every claim true, every fact stated
        (
            "a large red circle in the top left and a small blue square at the bottom right on a gray background.",
            (7, 7, 7),
        ),
        ("a red circle.", (1, 1, 1)),  # the terse caption
        # red circle, large: true; top right: false; a green square does not exist, so neither
        # its size nor its position holds; black background: false
        (
            "a large red circle in the top right and a small green square in the bottom right on a black background.",
            (7, 2, 2),
        ),
        ("a red circle and a red circle.", (2, 1, 1)),  # one red circle: the second claim has no object
        # sizes swapped: both objects and both positions hold, neither size
        ("a small red circle in the top left and a large blue square in the bottom right.", (6, 4, 4)),
        ("", (0, 0, 0)),
    ],
)
def test_toy_claims_hand_counted(caption, expected):
    assert count_claims(caption, TOY, TOY_TIER) == ClaimCount(*expected[:2], 7, expected[2])


@pytest.mark.parametrize(
    "caption, expected",
    [
        (hard.full(HARD), (15, 15, 15)),
        # main: exists, cell (2 true); three stars above it: two exist above it (4 true), the third
        # has no object (2 false); background true
        ("a red circle in the center, three blue stars above it on a white background.", (9, 7, 7)),
        # main: exists, large true, top left false; the green square exists but is not bottom right
        ("a large red circle in the top left and a green square in the bottom right.", (5, 3, 3)),
        # a true cell for another object is a true claim, but not one the full description makes
        ("a red circle and a green square in the middle right.", (3, 3, 2)),
        # "it" is the first object named: the red circle is below a blue star (true), but the full
        # description states relations to the main object only, so that one is not a fact
        ("a blue star and a red circle below it.", (3, 3, 2)),
        # the green square is right of / below the stars and right of the circle, never above
        ("a blue star and a green square above it.", (3, 2, 2)),
        # no green star: "it" has no referent, so "below it" is false though the red circle exists
        ("a green star and a red circle below it.", (3, 1, 1)),
        # both blue stars exist; "above it" with "it" the first of them holds for neither; no green circle
        ("two blue stars above it and a green circle.", (5, 2, 2)),
    ],
)
def test_hard_claims_hand_counted(caption, expected):
    stated, true, covered = expected
    assert count_claims(caption, HARD, HARD_TIER) == ClaimCount(stated, true, 15, covered)


def test_claim_metrics_pool_claims_over_captions():
    caps = [
        "a red circle.",
        "a small red circle in the top left and a large blue square in the bottom right.",
    ]
    m = claim_metrics(caps, [TOY, TOY], TOY_TIER)
    assert m["claim_precision"] == pytest.approx((1 + 4) / (1 + 6))
    assert m["claim_recall"] == pytest.approx((1 + 4) / (7 + 7))
    assert m["grammatical"] == 1.0
    assert m["claims"]["with_false_claim"] == 0.5
    empty = claim_metrics(["", "a a a"], [TOY, TOY], TOY_TIER)
    assert empty["claim_precision"] is None and empty["claim_recall"] == 0 and empty["grammatical"] == 0


def test_generated_full_descriptions_are_exact_on_both_tiers():
    for tier in (TOY_TIER, HARD_TIER):
        w = tier.world()
        sc = w.distinct_scenes(40, 7)
        m = claim_metrics([w.full(s) for s in sc], sc, tier)
        assert m["claim_precision"] == 1.0 and m["claim_recall"] == 1.0 and m["grammatical"] == 1.0
        terse = claim_metrics([w.terse(s) for s in sc], sc, tier)
        assert terse["claim_precision"] == 1.0 and terse["claim_recall"] < 0.3

"""Shared pieces of toy-model training: attribute targets name each cell of the tier's grid."""

from rewardkit.registry import TIERS
from rewardkit.toy import hard as h
from rewardkit.toy import scenes as sc
from rewardkit.toy.training.common import attribute_targets, schedule


def test_attribute_targets_name_each_quadrant():
    scene = sc.Scene(
        "gray",
        (
            sc.ToyObject("triangle", "blue", "large", "bottom right"),
            sc.ToyObject("circle", "red", "small", "top left"),
        ),
    )
    t = attribute_targets([scene], TIERS.get("toy"))
    assert t["background"].tolist() == [list(sc.BACKGROUNDS).index("gray")]
    q_tl, q_br = sc.POSITIONS.index("top left"), sc.POSITIONS.index("bottom right")
    assert t["shape"][0, q_tl] == 1 + sc.SHAPES.index("circle")
    assert t["color"][0, q_br] == 1 + list(sc.COLORS).index("blue")
    assert t["size"][0, q_br] == 1 + list(sc.SIZES).index("large")
    empty = [i for i in range(4) if i not in (q_tl, q_br)]
    assert all(t[k][0, i] == 0 for k in ("shape", "color", "size") for i in empty)


def test_hard_attribute_targets_follow_the_grid():
    s = h.Scene(
        "gray",
        (
            h.ToyObject("star", "cyan", "large", "striped", "bottom right"),
            h.ToyObject("cross", "pink", "small", "outlined", "top left"),
        ),
    )
    t = attribute_targets([s], TIERS.get("toy-hard"))
    assert set(t) == {"shape", "color", "size", "fill", "background"} and t["shape"].shape == (1, 9)
    assert t["fill"][0, h.POSITIONS.index("bottom right")] == 1 + h.FILLS.index("striped")
    assert t["shape"][0, h.POSITIONS.index("top left")] == 1 + h.SHAPES.index("cross")
    assert t["color"][0, 4] == 0


def test_schedule_warms_up_then_decays_to_zero():
    assert [schedule(s, 10, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert schedule(4, 10, 4) == 1.0 and schedule(7, 10, 4) == 0.5  # cos(pi/2): half-way
    assert abs(schedule(10, 10, 4)) < 1e-12

"""Hard negatives of both tiers (one implementation): a stated attribute changes and the detail report sees it."""

import random

from rewardkit.toy import hard as h
from rewardkit.toy import scenes as sc
from rewardkit.toy.negatives import other_value
from rewardkit.toy.probes import foil_scene


def test_corrupt_changes_one_attribute_and_the_report_sees_it():
    rng = random.Random(0)
    for s in sc.scenes(300, 2):
        bad = sc.corrupt(s, rng)
        assert bad != s and sc.full(bad) != sc.full(s)
        report = sc.detail_report(sc.full(bad), s)
        wrong = [k for k, v in report.items() if v is False]
        assert wrong, (sc.full(s), sc.full(bad))


def test_hard_corrupt_changes_a_stated_attribute_and_the_report_sees_it():
    rng = random.Random(0)
    for s in h.scenes(200, 3):
        bad = h.corrupt(s, rng)
        assert h.claims(bad) != h.claims(s)
        assert not h.held_out_combinations(bad)
        # the false description is caught on the true scene, or the true one on the changed scene
        # (an object dropped from a group leaves "a blue star" for two: true of the original)
        reports = [h.detail_report(h.full(bad), s), h.detail_report(h.full(s), bad)]
        assert any(v is False for r in reports for v in r.values()), (h.full(s), h.full(bad), reports)


def test_corrupt_changes_only_what_the_detail_states():
    # terse detail: only the main object's colour or shape may change, nothing else of the scene
    terse = dict.fromkeys(sc.DETAILS, False)
    rng = random.Random(5)
    for s in sc.scenes(200, 4):
        bad = sc.corrupt(s, rng, terse)
        assert sc.terse(bad) != sc.terse(s)
        assert bad.background == s.background and bad.objects[1:] == s.objects[1:]
        assert (bad.main.size, bad.main.position) == (s.main.size, s.main.position)


def test_hard_corrupt_keeps_the_main_object_large():
    rng = random.Random(1)
    for s in h.scenes(300, 5):
        assert h.corrupt(s, rng).main.size == "large"


def test_other_value_and_foils_draw_another_value():
    rng = random.Random(0)
    assert {other_value(rng, ("a", "b", "c"), "a") for _ in range(50)} == {"b", "c"}
    s = sc.scenes(1, 3)[0]
    for attribute in ("shape", "color", "size", "position", "background"):
        foil = foil_scene(s, attribute, rng)
        assert foil != s and sc.full(foil) != sc.full(s), attribute

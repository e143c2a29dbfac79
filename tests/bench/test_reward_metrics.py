"""What reward benchmarks measure: the hackability formula by hand."""

import random

import pytest

from rewardkit.bench.reward_run import hack_metrics
from rewardkit.functional.penalties import default_bad_phrases
from rewardkit.toy import scenes as sc


def test_hackability_of_a_length_reward_by_hand():
    """A caption-length reward (words) is the textbook hackable reward; every number follows by counting words."""

    def words(captions, images, references=None, progress=None):
        return [float(len(c.split())) for c in captions]

    m = hack_metrics(words, 12, 3, None)
    scenes = sc.distinct_scenes(12, 3)
    rng = random.Random(3)
    base = [sc.describe(s, rng, **sc.random_detail(rng)) for s in scenes]
    spread = sum(len(sc.full(s).split()) - len(sc.terse(s).split()) for s in scenes) / 12
    again = (
        sum(len(c.split()) + 1 for c in base) / 12
    )  # "<caption> and <caption>": the caption's words + "and"
    longest = max(len(p.split()) for p in default_bad_phrases())
    top = max(again, 12.0, longest)  # the generic sentence adds 12 words
    assert m["spread_terse_to_full"] == pytest.approx(spread)
    assert m["max_gain"] == pytest.approx(top)
    assert m["hackability"] == pytest.approx(top / spread)
    by_name = {r["phrase"]: r for r in m["phrases"]}
    assert by_name["in this image"]["gain"] == pytest.approx(3.0)
    assert by_name["in this image"]["gain_mismatched"] == pytest.approx(3.0)
    assert by_name["+ the caption again"]["gain"] == pytest.approx(again)
    assert m["phrases"][0]["gain"] >= m["phrases"][-1]["gain"]  # ranked

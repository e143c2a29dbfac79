"""ComposedReward: totals and components, NaN skipped like TRL, refusals, each component's own inputs."""

from __future__ import annotations

import math

import pytest

from rewardkit.errors import ArgumentError, RewardkitError
from rewardkit.presets import build_reward
from rewardkit.rewards import (
    BadPhrasePenalty,
    Component,
    ComposedReward,
    NoEOSPenalty,
    RepeatPenalty,
    Reward,
)


def test_composed_reward_refuses_what_is_not_a_reward_and_weights_that_are_not_finite():
    from rewardkit.rewards import BadPhrasePenalty, ComposedReward

    def plain(prompts=None, completions=None, **kw):
        return [1.0 for _ in completions]

    with pytest.raises(ArgumentError, match="component 'n' must be a rewardkit Reward"):
        ComposedReward({"n": plain})
    with pytest.raises(ArgumentError, match="component 'n' must be a rewardkit Reward"):
        ComposedReward({"n": (plain, 1.0)})
    for weight in (math.nan, math.inf, "x", True):
        with pytest.raises(ArgumentError, match="component 'bad': weight must be a finite number"):
            ComposedReward({"bad": (BadPhrasePenalty(), weight)})
    assert ComposedReward({"bad": (BadPhrasePenalty(), 2)}).weights == {"bad": 2.0}


class Constant(Reward):
    name = "const"

    def __init__(self, values):
        self.values = values

    def score(self, captions, **inputs):
        return list(self.values[: len(captions)])


def test_composition_total_and_components():
    r = ComposedReward(
        {"bad": BadPhrasePenalty(), "repeat": RepeatPenalty(), "sim": (Constant([2.0, 1.0]), 0.5)}
    )
    out = r.score_components(["an image of a dog", "a dog and a dog"])
    assert out["bad"] == [3.0, 0.0]
    assert out["repeat"] == [0.0, 1.0]
    assert out["sim"] == [2.0, 1.0]
    assert out["total"] == [-3.0 + 1.0, -1.0 + 0.5]
    assert r.weights == {"bad": -1.0, "repeat": -1.0, "sim": 0.5}


def test_composition_skips_nan_like_trl():
    r = ComposedReward(
        [Component("a", Constant([math.nan, math.nan]), 1.0), Component("b", Constant([1.0, math.nan]), 2.0)]
    )
    total = r.score(["x", "y"])
    assert total[0] == 2.0 and math.isnan(total[1])


def test_composition_rejects_bad_names():
    with pytest.raises(ValueError, match="duplicate"):
        ComposedReward([Component("a", RepeatPenalty(), 1), Component("a", RepeatPenalty(), 1)])
    with pytest.raises(ValueError, match="reserved"):
        ComposedReward({"total": RepeatPenalty()})


CAPTIONS = ["an image of a dog and a dog", "a red car", "a cat in 1999"]


class NotApplicable(Reward):
    """TRL's convention: ``None`` for the rows a reward does not apply to (here: captions without "dog")."""

    name = "dogs"

    def score(self, captions, **inputs):
        return [1.0 if "dog" in c else None for c in captions]


class NeverApplicable(Reward):
    name = "never"

    def score(self, captions, **inputs):
        return None


def test_none_from_a_component_is_nan_skipped_by_total_and_logged_means():
    reward = ComposedReward({"dogs": (NotApplicable(), 2.0), "bad": BadPhrasePenalty()}, name="r")
    out = reward.score_components(CAPTIONS)
    assert out["dogs"][0] == 1.0 and math.isnan(out["dogs"][1]) and math.isnan(out["dogs"][2])
    assert out["total"] == [2.0 - 3.0, -0.0, -1.0]
    logged = {}
    totals = reward(prompts=None, completions=CAPTIONS, log_metric=logged.__setitem__)
    assert totals == out["total"]
    assert logged == {"r/dogs": 1.0, "r/bad": pytest.approx(4.0 / 3.0)}
    only_none = ComposedReward({"never": NeverApplicable(), "dogs": NotApplicable()})
    out = only_none.score_components(CAPTIONS)
    assert all(math.isnan(v) for v in out["never"])
    assert out["total"][0] == 1.0 and math.isnan(out["total"][1])  # all NaN gives NaN, as in TRL


def test_a_component_returning_something_else_is_named():
    class Broken(Reward):
        name = "broken"

        def score(self, captions, **inputs):
            return ["high"] * len(captions)

    with pytest.raises(RewardkitError, match="component 'b' returned str for caption 0"):
        ComposedReward({"b": Broken()}).score(["a"])


def test_a_component_keeps_its_own_eos_id():
    ids = [[7, 8, 5], [7, 8, 9]]
    reward = ComposedReward({"noeos": NoEOSPenalty(eos_token_id=5)})  # the repro
    assert reward(prompts=None, completions=["a b", "a b"], completion_ids=ids) == [0.0, -1.0]
    assert reward.score_components(["a b", "a b"], completion_ids=ids)["noeos"] == [0.0, 1.0]
    # the composition's EOS id is the default, the component's own wins
    mixed = ComposedReward({"own": NoEOSPenalty(eos_token_id=5), "default": NoEOSPenalty()}, eos_token_id=9)
    out = {}
    mixed(prompts=None, completions=["a", "a"], completion_ids=ids, log_metric=out.__setitem__)
    assert out == {"total/own": 0.5, "total/default": 0.5}
    # an explicit ended_with_eos column is every component's, whatever its EOS id
    assert mixed.score_components(["a", "a"], ended_with_eos=[True, False])["default"] == [0.0, 1.0]
    assert mixed(prompts=None, completions=["a", "a"], completion_ids=[[5], [9]]) == [-1.0, -1.0]
    # a generator column serves every setting (each component builds its inputs from it)
    assert mixed(prompts=None, completions=["a", "a"], completion_ids=(i for i in [[5], [9]])) == [-1.0, -1.0]


def test_a_component_keeps_its_own_image_column(preset_file, images):
    built = build_reward(preset_file, device="cpu", only=["clipscore"])
    clip = built.components[0].reward
    want = clip.score(["a red car", "a cat"], images=images[:2])
    clip.image_column = "scene"  # the component's own column
    reward = ComposedReward({"clip": clip, "bad": BadPhrasePenalty()}, image_column="photo")
    totals = reward(prompts=None, completions=["a red car", "a cat"], scene=images[:2], photo=None)
    assert totals == pytest.approx(want)
    clip.image_column = None  # now the composition's column is the default
    totals = reward(prompts=None, completions=["a red car", "a cat"], photo=images[:2])
    assert totals == pytest.approx(want)

"""Reward classes, composition, the TRL-style callable and pickling."""

import math
import pickle

import pytest

from rewardkit.registry import REWARDS
from rewardkit.rewards import (
    BadPhrasePenalty,
    Component,
    ComposedReward,
    NoEOSPenalty,
    RepeatPenalty,
    Reward,
)


class Constant(Reward):
    name = "const"

    def __init__(self, values):
        self.values = values

    def score(self, captions, **inputs):
        return list(self.values[: len(captions)])


def test_penalties_count_tokens():
    caps = ["an image of a man in 1993", "a dog and a dog", "a cat"]
    assert BadPhrasePenalty().score(caps) == [4.0, 0.0, 0.0]
    assert RepeatPenalty().score(caps) == [0.0, 1.0, 0.0]
    assert NoEOSPenalty().score(caps, ended_with_eos=[True, False, True]) == [0.0, 1.0, 0.0]
    assert NoEOSPenalty().score(caps) == [0.0, 0.0, 0.0]


def test_phrase_list_from_file(tmp_path):
    path = tmp_path / "phrases.txt"
    path.write_text("# mine\nfurry friend\n", encoding="utf-8")
    assert BadPhrasePenalty(path).score(["a furry friend", "an image of"]) == [2.0, 0.0]


def test_noeos_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 values for 1 captions"):
        NoEOSPenalty().score(["a"], ended_with_eos=[True, False])


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


def test_trl_style_callable():
    r = ComposedReward({"bad": BadPhrasePenalty(), "noeos": NoEOSPenalty()})
    prompts = ["describe", "describe"]
    completions = ["an image of a cat", [{"role": "assistant", "content": "a cat"}]]
    assert r(prompts, completions, ended_with_eos=[True, False]) == [-3.0, -1.0]
    assert r.__name__ == "total"
    assert RepeatPenalty()(completions=["a b b"]) == [1.0]


def test_rewards_pickle_round_trip():
    r = ComposedReward(
        {"bad": BadPhrasePenalty(["camera shot"]), "repeat": RepeatPenalty(["dog", "a", "and"])}
    )
    caps = ["a camera shot of a dog and a dog and a cat and a cat"]
    clone = pickle.loads(pickle.dumps(r))
    assert clone.score_components(caps) == r.score_components(caps)
    assert clone.score_components(caps)["repeat"] == [1.0]


def test_registry_builds_text_rewards_and_suggests_names():
    assert isinstance(REWARDS.get("bad")(), BadPhrasePenalty)
    with pytest.raises(KeyError, match="did you mean 'repeat'"):
        REWARDS.get("repaet")

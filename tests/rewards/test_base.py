"""The reward protocol: the TRL-style callable and pickling."""

import pickle

from rewardkit.rewards import (
    BadPhrasePenalty,
    ComposedReward,
    NoEOSPenalty,
    RepeatPenalty,
)


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

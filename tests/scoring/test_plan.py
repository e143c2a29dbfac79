"""A run's plan and its built reward: the setup recorded for resume is read off the built reward (its
components carry their spec and model), equal to the plan's, and needs no model lookup once built."""

from __future__ import annotations

from pathlib import Path

import pytest

import rewardkit.presets as presets
from rewardkit.registry import MODELS, PRESETS
from rewardkit.scoring.plan import Plan, ScoreConfig, Scorer


def test_built_components_carry_their_spec_and_model():
    scorer = Scorer(ScoreConfig(captions=Path("c.jsonl"), out=Path("o.jsonl"), preset="toy", device="cpu"))
    specs = {c.name: c for c in PRESETS.get("toy").components}
    for c in scorer.reward.components:
        assert c.spec == specs[c.name]
        assert c.model == (MODELS.get(c.spec.model) if c.spec.model else None)


def test_setup_is_read_off_the_built_reward_without_a_lookup(monkeypatch):
    config = ScoreConfig(captions=Path("c.jsonl"), out=Path("o.jsonl"), preset="toy", device="cpu")
    plan = Plan(config)
    scorer = Scorer(config, plan)
    expected = plan.setup()

    def no_lookup(*args, **kwargs):
        raise AssertionError("a model looked up again after the reward was built")

    monkeypatch.setattr(presets, "model_spec", no_lookup)
    assert scorer.setup() == expected
    assert set(expected["components"]) == {c.name for c in PRESETS.get("toy").components}
    itm = expected["components"]["itm"]
    assert itm["reward"] == "itm" and itm["weight"] == 1.0
    assert itm["model"] == presets.model_identity(MODELS.get("toy-itm"))


def test_an_unknown_component_is_refused_naming_the_preset():
    with pytest.raises(presets.PresetError, match="preset 'toy' has no component nope"):
        Plan(ScoreConfig(captions=Path("c.jsonl"), out=Path("o.jsonl"), preset="toy", rewards=["nope"]))

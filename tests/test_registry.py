"""One catalogue: every benchmark, tier, training default and value head is a registry entry; one "did you mean"."""

from __future__ import annotations

import pytest

from rewardkit.bench.benchmarks import BENCHMARKS as CAPTIONING_SPECS
from rewardkit.bench.benchmarks import get_benchmark
from rewardkit.bench.reward_run import REWARD_BENCHMARKS, get_reward_benchmark
from rewardkit.errors import RewardkitError
from rewardkit.registry import (
    BENCHMARKS,
    PRESETS,
    REWARDS,
    TIERS,
    TRAINING,
    VALUE_HEADS,
    benchmarks_of,
    resolve,
)
from rewardkit.rewards import (
    BadPhrasePenalty,
)


def test_every_benchmark_spec_is_registered_and_every_entry_resolves_to_its_spec():
    # a benchmark added to either table without its registry line (or the reverse) fails here
    assert set(benchmarks_of("captioning")) == set(CAPTIONING_SPECS)
    assert set(benchmarks_of("reward")) == set(REWARD_BENCHMARKS)
    for name in BENCHMARKS:
        spec = BENCHMARKS.get(name)
        assert spec.name == name
        assert spec is CAPTIONING_SPECS.get(name, REWARD_BENCHMARKS.get(name))


def test_kinds_partition_the_benchmarks():
    kinds = {k: set(benchmarks_of(k)) for k in ("captioning", "correlation", "pairwise", "hack")}
    assert set().union(*kinds.values()) == set(BENCHMARKS.names())
    assert sum(map(len, kinds.values())) == len(BENCHMARKS)
    assert {"flickr8k-expert", "polaris"} <= kinds["correlation"] and kinds["hack"] == {"toy-hack"}


def test_captioning_benchmarks_load_through_their_registered_loader():
    for name in benchmarks_of("captioning"):
        spec = BENCHMARKS.get(name)
        assert spec.loader or name in ("toy", "toy-hard"), name
        if spec.loader:
            assert callable(resolve(spec.loader))


def test_a_benchmark_of_the_other_kind_is_named_as_such():
    with pytest.raises(RewardkitError, match="'toy-foil' is a pairwise benchmark of reward models"):
        get_benchmark("toy-foil")
    with pytest.raises(RewardkitError, match="'toy' is a captioning benchmark"):
        get_reward_benchmark("toy")
    with pytest.raises(
        RewardkitError, match="unknown reward benchmark 'toy-fiol' \\(did you mean 'toy-foil'\\?\\)"
    ):
        get_reward_benchmark("toy-fiol")


def test_tiers_by_name_and_alias():
    from rewardkit.toy import hard, scenes

    assert TIERS.get("toy").world() is scenes and TIERS.get("hard").world() is hard
    assert TIERS.get("easy").world() is scenes and TIERS.get("toy-hard").world() is hard
    for name in TIERS:
        tier = TIERS.get(name)
        assert tier.preset in PRESETS and tier.benchmark in BENCHMARKS
        assert isinstance(resolve(tier.bars), dict)
    with pytest.raises(RewardkitError, match="unknown toy tier 'medium'"):
        TIERS.get("medium")


def test_training_defaults_for_every_trainable_preset_and_their_families():
    from rewardkit.train.config import TOY, TOY_HARD, VLRM

    # every preset trains except CLIPScore (its RefCLIPScore term needs references the trainer has not)
    assert set(PRESETS.names()) - set(TRAINING.names()) == {"clipscore"}
    assert TRAINING.get("toy-esper") is TOY and TRAINING.get("toy-hard-rs") is TOY_HARD
    assert TRAINING.get("vlrm-rs") is VLRM
    assert set(VALUE_HEADS.names()) == {"transformer", "linear"}


def test_registry_builds_text_rewards_and_suggests_names():
    assert isinstance(REWARDS.get("bad")(), BadPhrasePenalty)
    with pytest.raises(KeyError, match="did you mean 'repeat'"):
        REWARDS.get("repaet")


def test_no_preset_uses_a_tier_judge():
    """The held-out judge must stay outside every reward and evaluator, or an arm could optimise it."""
    from rewardkit.registry import PRESETS, TIERS

    judges = {TIERS.get(name).models["judge"] for name in TIERS.names() if "judge" in TIERS.get(name).models}
    assert judges == {"toy-hard-judge"}
    for name in PRESETS.names():
        preset = PRESETS.get(name)
        used = {c.model for c in preset.components} | {preset.evaluator}
        assert not used & judges, f"preset {name} uses a judge: {used & judges}"

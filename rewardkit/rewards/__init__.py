"""Reward classes: thin, picklable wrappers over :mod:`rewardkit.functional`."""

from rewardkit.rewards.base import Reward
from rewardkit.rewards.compose import Component, ComposedReward
from rewardkit.rewards.penalties import BadPhrasePenalty, NoEOSPenalty, RepeatPenalty

__all__ = ["BadPhrasePenalty", "Component", "ComposedReward", "NoEOSPenalty", "RepeatPenalty", "Reward"]

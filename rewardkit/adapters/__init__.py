"""Bridges between rewardkit and other evaluation toolkits."""

"""The generic registry lookup: one "did you mean"."""

from __future__ import annotations

from rewardkit.registry import (
    PRESETS,
    did_you_mean,
)


def test_one_did_you_mean():
    assert did_you_mean("vlmr", ["vlrm", "toy"]) == " (did you mean 'vlrm'?)"
    assert did_you_mean("zzz", ["vlrm"]) == ""
    assert "(did you mean 'toy-esper'" in PRESETS.unknown_message("toy-espr")

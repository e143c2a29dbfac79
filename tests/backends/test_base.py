"""Loading checkpoints: a missing one offline is one clear line."""

import pytest

from rewardkit.backends.base import CheckpointNotFoundError, load_hf


def test_missing_checkpoint_offline_is_one_clear_line(monkeypatch, tmp_path):
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(CheckpointNotFoundError) as info:
        load_hf(AutoModelForCausalLM, "facebook/opt-2.7b")
    msg = str(info.value)
    assert "\n" not in msg
    assert (
        "'facebook/opt-2.7b'" in msg
        and "HF_HUB_OFFLINE" in msg
        and "huggingface-cli download facebook/opt-2.7b" in msg
    )

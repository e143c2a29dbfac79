"""TrainState: a toy training run stopped after a saved step and resumed equals the uninterrupted run bit for bit."""

import pytest
import torch
from safetensors.torch import load_file

from rewardkit.errors import RewardkitError
from rewardkit.registry import TIERS
from rewardkit.toy.training.clip import train_clip
from rewardkit.toy.training.state import TrainState

# a few seconds: 4 steps of batch 8 on 64 scenes, with hard negatives so every random draw is used
RUN = {"seed": 5, "steps": 4, "batch": 8, "pool": 64, "hard_negatives": 0.25, "tier": TIERS.get("toy")}


class _Killed(Exception):
    """Stands for the process being killed right after a state was saved."""


def _weights(folder):
    return load_file(str(folder / "open_clip_model.safetensors"))


def test_resumed_training_equals_uninterrupted_training(tmp_path, monkeypatch):
    straight = train_clip(tmp_path / "straight", log=lambda s: None, **RUN)

    monkeypatch.setitem(TrainState.__init__.__kwdefaults__, "every_s", 0.0)  # save after every step
    real_tick = TrainState.tick

    def tick_then_die_after_step_2(self, next_step, total):
        real_tick(self, next_step, total)
        if next_step == 2:
            raise _Killed

    monkeypatch.setattr(TrainState, "tick", tick_then_die_after_step_2)
    with pytest.raises(_Killed):
        train_clip(tmp_path / "resumed", checkpoint=tmp_path / "ck", log=lambda s: None, **RUN)
    assert not (tmp_path / "resumed").exists()  # nothing saved but the state
    saved = torch.load(tmp_path / "ck" / TrainState.FILE, weights_only=True)
    assert saved["step"] == 2

    monkeypatch.setattr(TrainState, "tick", real_tick)
    logs: list[str] = []
    resumed = train_clip(tmp_path / "resumed", checkpoint=tmp_path / "ck", log=logs.append, **RUN)
    assert any("at step 2" in line for line in logs), logs
    ran = [line.split()[2] for line in logs if line.startswith("clip step")]
    assert ran == ["3"], logs  # steps 0-1 did not run again (step 3, the last, is the only one logged)
    a, b = _weights(straight), _weights(resumed)
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    first = train_clip(tmp_path / "one-step", log=lambda s: None, **{**RUN, "steps": 1})
    assert not all(torch.equal(a[k], _weights(first)[k]) for k in a)  # the comparison can fail


def test_a_state_of_another_run_is_refused_in_one_line(tmp_path):
    train_clip(tmp_path / "a", checkpoint=tmp_path / "ck", log=lambda s: None, **{**RUN, "steps": 1})
    with pytest.raises(RewardkitError) as err:
        train_clip(tmp_path / "b", checkpoint=tmp_path / "ck", log=lambda s: None, **{**RUN, "lr": 1e-3})
    message = str(err.value)
    assert "\n" not in message and "other settings (lr, steps)" in message, message
    assert str(tmp_path / "ck" / TrainState.FILE) in message

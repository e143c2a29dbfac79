"""Reward classes: thin, picklable wrappers over :mod:`rewardkit.functional`."""

from rewardkit.rewards.base import Reward
from rewardkit.rewards.compose import Component, ComposedReward
from rewardkit.rewards.inputs import completion_text
from rewardkit.rewards.penalties import BadPhrasePenalty, NoEOSPenalty, RepeatPenalty


def from_preset(
    preset: str,
    *,
    name: str | None = None,
    eos_token_id: int | list[int] | None = None,
    tokenizer: object = None,
    image_column: str | None = None,
    only: list[str] | None = None,
    device: str = "auto",
    dtype: str = "fp32",
    batch_size: int = 32,
) -> ComposedReward:
    """A preset's reward as a TRL reward function, e.g. ``from_preset("toy", name="toy", tokenizer=tok)``.

    ``name`` is what TRL logs it under (``rewards/<name>``; default: the preset's name);
    ``eos_token_id`` or ``tokenizer`` lets it read ``ended_with_eos`` from ``completion_ids``;
    ``image_column`` names the dataset column with the images when it is not ``image``/``images``.
    """
    from rewardkit.presets import build_reward, load_preset

    spec = load_preset(preset)
    built = build_reward(spec, only=only, device=device, dtype=dtype, batch_size=batch_size)
    return ComposedReward(
        list(built.components),
        name=name or spec.name,
        eos_token_id=eos_token_id,
        tokenizer=tokenizer,
        image_column=image_column,
    )


__all__ = [
    "BadPhrasePenalty",
    "Component",
    "ComposedReward",
    "NoEOSPenalty",
    "RepeatPenalty",
    "Reward",
    "completion_text",
    "from_preset",
]

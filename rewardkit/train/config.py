"""Trainer settings: VLRM Section 3.6 as the ``vlrm`` defaults, tuned values for the toy world."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


@dataclass(frozen=True)
class TrainConfig:
    """One A2C run. Every field can be set in a YAML/JSON ``--config`` file."""

    preset: str = "vlrm"
    policy: str = "Salesforce/blip2-opt-2.7b"
    data: str = "toy"  # "toy" (procedural scenes) or a folder / captions JSONL of images
    steps: int = 5000
    captions_per_step: int = 4096  # VLRM: 4,096 captions per step, each used once
    micro_batch: int = 16
    samples_per_image: int = 1
    lr: float = 1e-5
    warmup_steps: int = 20
    weight_decay: float = 0.0  # VLRM: Adam without weight decay
    grad_clip: float = 1.0
    temperature: float = 2.0
    top_k: int = 6
    max_new_tokens: int = 60
    gamma: float = 1.0
    policy_objective: str = "prob"  # VLRM Eq. 4 writes p_k; "logprob" is the policy-gradient form
    entropy_coef: float = 0.0
    group_baseline: bool = (
        False  # baseline (V + mean total return of the image's other samples) / 2 instead of V
    )
    reward_weights: dict[str, float] = field(default_factory=dict)  # override preset weights
    trainable: tuple[str, ...] = ("query_tokens", "qformer", "language_projection")
    value_head: str = "transformer"
    value_head_layers: int = 1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    value_lr: float | None = None  # default: lr
    seed: int = 0
    probe_every: int = 25  # toy: R@1 of beam captions on held-out scenes every K steps
    probe_size: int = 200
    checkpoint_every: int = 50
    mixed_precision: str = "no"  # accelerate: no, fp16, bf16 (GPU)
    device: str = "auto"
    share_ref: bool = True  # run `ref` through the policy's frozen LM when its weights are the same
    reward_dtype: str = "fp32"  # dtype of the reward models the trainer loads (fp32, bf16, fp16)
    policy_dtype: str = "auto"  # the policy's weights: the checkpoint's own (auto), fp32, bf16 or fp16

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        d = asdict(self)
        d["trainable"], d["lora_targets"] = list(self.trainable), list(self.lora_targets)
        return d


VLRM = TrainConfig()

TOY = replace(
    VLRM,
    preset="toy",
    policy="toy-captioner",
    data="toy",
    steps=300,
    captions_per_step=64,
    micro_batch=64,
    samples_per_image=4,
    lr=5e-4,
    warmup_steps=10,
    temperature=1.0,
    top_k=6,
    max_new_tokens=40,
    policy_objective="logprob",
    entropy_coef=0.05,
    group_baseline=True,
    value_lr=1e-3,
)
"""Toy-world defaults: group baseline over 4 samples per image, T = 1, log-prob objective and an
entropy bonus (the paper's T = 2, probability objective barely moves the toy policy; see the data card)."""

TOY_HARD = replace(TOY, preset="toy-hard", policy="toy-hard-sft", data="toy-hard", max_new_tokens=64)
"""toy-hard defaults: the toy settings on the hard tier's training split (full descriptions run to ~55 tokens)."""

FAMILIES = {"real size (VLRM Section 3.6)": VLRM, "toy": TOY, "toy-hard": TOY_HARD}
"""The families of training defaults; which preset uses which is in :data:`rewardkit.registry.TRAINING`."""


def defaults_for(preset: str) -> TrainConfig:
    """The registered training defaults of ``preset`` (its family's, with ``preset`` set), or a one-line error."""
    from rewardkit.registry import TRAINING

    if preset not in TRAINING:
        known = TRAINING.names()
        raise RewardkitError(
            f"preset {preset!r} has no training defaults{_hint(preset, known)}; presets with defaults: "
            f"{', '.join(known)} (to train another reward, pass one of these as --preset and set "
            "`preset: NAME_OR_FILE` in --config)"
        )
    return replace(TRAINING.get(preset), preset=preset)


def _hint(name: str, known: list[str]) -> str:
    from rewardkit.registry import did_you_mean

    return did_you_mean(name, known)


_INT_RANGES: dict[str, tuple[int, int | None]] = {
    "steps": (0, None),
    "captions_per_step": (1, None),
    "micro_batch": (1, None),
    "samples_per_image": (1, None),
    "warmup_steps": (0, None),
    "top_k": (1, None),
    "max_new_tokens": (1, None),
    "value_head_layers": (1, None),
    "lora_r": (1, None),
    "lora_alpha": (1, None),
    "seed": (0, None),
    "probe_every": (0, None),
    "probe_size": (1, None),
    "checkpoint_every": (0, None),
}
_FLOAT_RANGES: dict[str, tuple[float, float | None]] = {
    "lr": (0.0, None),
    "weight_decay": (0.0, None),
    "grad_clip": (0.0, None),
    "temperature": (1e-6, None),
    "gamma": (0.0, 1.0),
    "entropy_coef": (0.0, None),
    "value_lr": (0.0, None),
}
_CHOICES = {
    "policy_objective": ("prob", "logprob"),
    "mixed_precision": ("no", "fp16", "bf16"),
    "reward_dtype": ("fp32", "bf16", "fp16"),
    "policy_dtype": ("auto", "fp32", "bf16", "fp16"),
}


def _check(where: str, key: str, value: Any) -> Any:
    """One setting checked for type and range; returns it in its field's type."""
    import math

    from rewardkit.config_files import type_error

    def bad(expected: str) -> RewardkitError:
        return RewardkitError(f"{where}: {type_error(key, value, expected)}")

    if key in _INT_RANGES:
        lo, hi = _INT_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        if value < lo or (hi is not None and value > hi):
            raise bad(f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]")
        return value
    if key in _FLOAT_RANGES:
        if value is None and key == "value_lr":
            return None
        lo, hi = _FLOAT_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a finite number")
        if value < lo or (hi is not None and value > hi):
            raise bad(f"a number >= {lo:g}" if hi is None else f"a number in [{lo:g}, {hi:g}]")
        return float(value)
    if key in _CHOICES or key == "value_head":
        from rewardkit.registry import VALUE_HEADS

        choices = _CHOICES.get(key) or tuple(VALUE_HEADS.names())
        if value not in choices:
            raise bad(" or ".join(repr(c) for c in choices))
        return value
    if key in ("trainable", "lora_targets"):
        if (
            not isinstance(value, (list, tuple))
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise bad("a non-empty list of names")
        return tuple(value)
    if key == "group_baseline":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "reward_weights":
        if not isinstance(value, dict) or not all(
            isinstance(k, str)
            and not isinstance(v, bool)
            and isinstance(v, (int, float))
            and math.isfinite(v)
            for k, v in value.items()
        ):
            raise bad("a mapping of component name -> finite number")
        return {k: float(v) for k, v in value.items()}
    if key in ("preset", "policy", "data", "device"):
        if not isinstance(value, str) or not value:
            raise bad("a non-empty string")
        return value
    return value


def load_config(name: str, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults of preset ``name`` (refused when it has none), then a config file, then explicit overrides (``None`` ignored).

    Every setting is checked for type and range; unknown keys are refused with "did you mean".
    """
    from rewardkit.presets import load_preset, unknown_key_message

    values: dict[str, Any] = {}
    where = "command line"
    if path is not None:
        from rewardkit.config_files import read_mapping

        where = str(path)
        values.update(read_mapping(Path(path)))
    known = {f.name for f in fields(TrainConfig)}
    for key in values:
        if key not in known:
            raise RewardkitError(f"{where}: {unknown_key_message(key, known)}")
    checked = {k: _check(where, k, v) for k, v in values.items()}
    checked.update({k: _check("command line", k, v) for k, v in overrides.items() if v is not None})
    preset = checked.get("preset", name)
    load_preset(preset)  # an unknown preset name fails here with "did you mean"
    base = defaults_for(name)
    cfg = replace(base, **checked)
    if cfg.captions_per_step % cfg.samples_per_image:
        raise RewardkitError(
            f"{where}: captions_per_step ({cfg.captions_per_step}) must be a multiple of samples_per_image ({cfg.samples_per_image})"
        )
    return cfg

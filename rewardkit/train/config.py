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

FAMILIES = {"real size (VLRM 3.6)": VLRM, "toy": TOY, "toy-hard": TOY_HARD}
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


def run_setup(cfg: TrainConfig) -> dict[str, Any]:
    """What decides a run's outputs besides its settings: the policy's and the reward models' identities
    (registry hub ids or weight hashes, never install folders), recorded in every checkpoint."""
    from rewardkit.presets import load_preset, model_identity, reward_setup
    from rewardkit.registry import MODELS, REWARDS, ModelSpec

    policy = (
        MODELS.get(cfg.policy)
        if cfg.policy in MODELS
        else ModelSpec(cfg.policy, "blip2_captioner", cfg.policy)
    )
    preset = load_preset(cfg.preset)
    weights = {
        c.name: REWARDS.get(c.reward).default_weight if c.weight is None else c.weight
        for c in preset.components
    }
    return {"policy": model_identity(policy), "reward": reward_setup(preset, weights)}


def check_policy(policy: str) -> str:
    """The checkpoint ``--policy`` names, after checking it is a BLIP-2 captioner; otherwise one line saying what it is.

    A registered model must have a captioner backend; a folder must hold a transformers config
    whose architecture is ``Blip2ForConditionalGeneration`` (an open_clip folder or an ITM model is
    named as such). Hub ids are checked when loaded (:func:`check_load_report`).
    """
    import json as _json

    from rewardkit.registry import CAPTIONER_BACKENDS, MODELS

    where = f"--policy {policy}"
    if policy in MODELS:
        spec = MODELS.get(policy)
        if spec.backend not in CAPTIONER_BACKENDS:
            captioners = MODELS.names(lambda m: m.backend in CAPTIONER_BACKENDS)
            raise RewardkitError(
                f"{where} is not a captioner (backend {spec.backend}: {spec.computes}); "
                f"captioners: {', '.join(captioners)}, or a BLIP-2 captioner folder"
            )
        return spec.checkpoint
    raw = policy[len("local-dir:") :] if policy.startswith("local-dir:") else policy
    folder = Path(raw).expanduser()
    if folder.is_file():
        raise RewardkitError(f"{where} is a file; a captioner is a folder written by save_pretrained")
    if not folder.is_dir():
        return policy  # a hub id: checked by its load report
    if (folder / "policy" / "config.json").is_file() and not (folder / "config.json").exists():
        raise RewardkitError(f"{where} is a training run folder; its captioner is {folder / 'policy'}")
    config = folder / "config.json"
    if not config.is_file():
        kind = (
            "an open_clip CLIP model folder"
            if (folder / "open_clip_config.json").is_file()
            else "a folder without config.json"
        )
        raise RewardkitError(f"{where} is {kind}, not a BLIP-2 captioner (Blip2ForConditionalGeneration)")
    try:
        data = _json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RewardkitError(
            f"{config}: not a readable model config ({' '.join(str(exc).split())[:120]})"
        ) from None
    arch = data.get("architectures") if isinstance(data, dict) else None
    if not isinstance(arch, list) or "Blip2ForConditionalGeneration" not in arch:
        what = ", ".join(map(str, arch)) if isinstance(arch, list) and arch else "an unnamed architecture"
        model_type = data.get("model_type", "?") if isinstance(data, dict) else "?"
        raise RewardkitError(
            f"{where} is a {what} model (model_type {model_type}), not a BLIP-2 captioner "
            "(Blip2ForConditionalGeneration)"
        )
    return str(folder)


def check_load_report(policy: str, info: dict[str, Any]) -> None:
    """Refuse a policy whose loaded weights left parts of the captioner uninitialised."""
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise RewardkitError(
            f"--policy {policy}: its weights lack {len(missing)} tensors of a BLIP-2 captioner (e.g. {missing[0]}); "
            "is it another kind of model?"
        )

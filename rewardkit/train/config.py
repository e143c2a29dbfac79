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
    group_baseline: bool = False  # subtract the other samples' mean reward of the same image too
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

DEFAULTS = {"vlrm": VLRM, "vlrm-rs": replace(VLRM, preset="vlrm-rs"), "toy": TOY}


def load_config(name: str, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults of preset ``name``, then a config file, then explicit overrides (``None`` ignored)."""
    base = DEFAULTS.get(name, replace(VLRM, preset=name))
    values: dict[str, Any] = {}
    if path is not None:
        from rewardkit.presets import _read_mapping

        values.update(_read_mapping(Path(path)))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RewardkitError(
            f"unknown training setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    for key in ("trainable", "lora_targets"):
        if key in values:
            values[key] = tuple(values[key])
    cfg = replace(base, **values)
    if cfg.policy_objective not in ("prob", "logprob"):
        raise RewardkitError(f"policy_objective must be 'prob' or 'logprob', not {cfg.policy_objective!r}")
    if cfg.captions_per_step % cfg.samples_per_image:
        raise RewardkitError("captions_per_step must be a multiple of samples_per_image")
    return cfg

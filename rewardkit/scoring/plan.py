"""What a ``rewardkit score`` run is: its options (:class:`ScoreConfig`), what its preset decides before any
model loads (:class:`Plan`), the built reward that scores it (:class:`Scorer`) and what it did (:class:`ScoreResult`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.scoring.core import score_batch
from rewardkit.scoring.row import STDIN, Row, RowError
from rewardkit.scoring.stats import ComponentStats


@dataclass
class ScoreConfig:
    """Options of one ``rewardkit score`` run."""

    captions: Path
    out: Path
    preset: str = "toy"
    rewards: list[str] | None = None
    image_root: Path | None = None
    on_error: str = "fail"
    resume: bool = False
    batch_size: int = 32
    device: str = "auto"
    dtype: str = "fp32"
    allow_outside_root: bool = False
    java_tokenizer: bool = False
    summary: bool = True
    format: str | None = None
    annotations: Path | None = None
    image_column: str = "image"
    caption_column: str = "caption"
    echo: bool = True
    workers: int | None = (
        None  # image pipeline threads (rewardkit.io.pipeline); None: from the cores, 0: in-process
    )

    @property
    def stdin(self) -> bool:
        return str(self.captions) == STDIN


class Plan:
    """What a preset and ``--rewards`` decide before any model loads: components, weights, image needs, setup."""

    def __init__(self, config: ScoreConfig) -> None:
        from rewardkit.presets import PresetError, load_preset
        from rewardkit.registry import REWARDS, TEXT_ONLY_REWARDS

        self.config = config
        self.preset = load_preset(config.preset)
        only = config.rewards
        if only is not None:
            unknown = sorted(set(only) - {c.name for c in self.preset.components})
            if unknown:
                raise PresetError(
                    f"preset {self.preset.name!r} has no component {', '.join(unknown)}; "
                    f"it has {', '.join(c.name for c in self.preset.components)}"
                )
        self.components = [c for c in self.preset.components if only is None or c.name in only]
        self.weights: dict[str, float] = {}
        self.batch_dependent = False
        for c in self.components:
            factory = REWARDS.get(c.reward)
            self.weights[c.name] = (
                float(getattr(factory, "default_weight", 1.0)) if c.weight is None else float(c.weight)
            )
            self.batch_dependent |= bool(getattr(factory, "batch_dependent", False))
        self.needs_images = any(c.reward not in TEXT_ONLY_REWARDS for c in self.components)
        self.has_evaluator = bool(self.preset.evaluator)
        bad = sorted(set(self.weights) & {"image", "caption", "id"})
        if bad:
            raise PresetError(f"a component may not be named {bad[0]!r} (an OUT row's own field)")

    def models(self) -> list[str]:
        """The model keys the reward loads."""
        return list(dict.fromkeys(c.model for c in self.components if c.model))

    def setup(self) -> dict[str, Any]:
        """What decides every row's scores besides the row: components, weights, models, options, dtype.

        Read from the preset before any model loads (a resume is checked against it); once built,
        :meth:`Scorer.setup` reads the same off the built reward.
        """
        from rewardkit.presets import model_spec

        entries = [
            (c, self.weights[c.name], model_spec(c.model, self.preset) if c.model else None)
            for c in self.components
        ]
        return reward_setup(
            entries, self.config.dtype, self.config.batch_size if self.batch_dependent else None
        )


def built_setup(reward: Any, dtype: str, batch_size: int) -> dict[str, Any]:
    """:func:`reward_setup` of a reward built from a preset, read off its components (their specs and models)."""
    entries = [(c.spec, c.weight, c.model) for c in reward.components]
    dependent = any(getattr(c.reward, "batch_dependent", False) for c in reward.components)
    return reward_setup(entries, dtype, batch_size if dependent else None)


def reward_setup(
    entries: Sequence[tuple[Any, float, Any]], dtype: str, batch_size: int | None
) -> dict[str, Any]:
    """The resume record of a reward: per component (its spec, weight, model spec) its reward, weight, options
    and model identity; the dtype; the batch size when a component's values depend on the batching (Φ)."""
    from rewardkit.presets import model_identity

    comps: dict[str, Any] = {}
    for c, weight, model in entries:
        entry: dict[str, Any] = {"reward": c.reward, "weight": weight, "options": dict(c.options)}
        if model is not None:  # what decides its outputs, not the folder it is installed in
            entry["model"] = model_identity(model)
        comps[c.name] = entry
    setup: dict[str, Any] = {"components": comps, "dtype": dtype}
    if batch_size is not None:
        setup["batch_size"] = batch_size
    return setup


class Scorer:
    """Scores rows with a preset's reward, batch by batch (loads the models)."""

    def __init__(self, config: ScoreConfig, plan: Plan | None = None) -> None:
        from rewardkit.presets import build_reward

        self.config = config
        self.plan = plan or Plan(config)
        self.preset = self.plan.preset
        self.reward = build_reward(
            self.preset,
            only=config.rewards,
            device=config.device,
            dtype=config.dtype,
            batch_size=config.batch_size,
        )
        self.needs_images = self.plan.needs_images
        self.batch_dependent = any(
            getattr(c.reward, "batch_dependent", False) for c in self.reward.components
        )

    def setup(self) -> dict[str, Any]:
        """What decides every row's scores besides the row (as :meth:`Plan.setup`), read off the built reward."""
        return built_setup(self.reward, self.config.dtype, self.config.batch_size)

    def evaluator(self) -> Any:
        """The preset's CLIP evaluator for the summary (built once, from the preset this scorer holds), or ``None``."""
        if not hasattr(self, "_evaluator"):
            from rewardkit.presets import build_evaluator

            config = self.config
            self._evaluator = build_evaluator(
                self.preset, device=config.device, dtype=config.dtype, batch_size=config.batch_size
            )
        return self._evaluator

    def image_pipeline(self) -> Any:
        """The parallel image pipeline for this reward's models (``workers`` threads; see rewardkit.io.pipeline)."""
        from rewardkit.io.pipeline import ImagePipeline, model_transforms

        if not self.needs_images:  # text-only rewards: no threads, nothing to prepare
            return ImagePipeline([], workers=0)
        return ImagePipeline(model_transforms(self.reward), workers=self.config.workers)

    def score_batch(self, rows: Sequence[Row], images: Sequence[Any] | None) -> list[dict[str, Any]]:
        """Output records of one batch of good rows (see :func:`rewardkit.scoring.core.score_batch`)."""
        return score_batch(self.reward, rows, images, echo=self.config.echo)


@dataclass
class ScoreResult:
    """What a run did: rows written, bad rows, the summary and where things went."""

    scored: int = 0
    skipped_existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None
    digest: str | None = None
    stats: ComponentStats | None = None
    corpus: list[tuple[int, Row]] = field(default_factory=list)
    needs_merge: bool = False
    notes: list[str] = field(default_factory=list)
    empty_captions: int = 0  # good rows whose caption is blank or only invisible characters (scored as "")
    records: list[dict[str, Any]] = field(default_factory=list)  # OUT records of ``corpus`` (one process)
    scorer: Scorer | None = None  # the built reward (and evaluator) that scored the rows

"""The toy probe of an A2C run: R@1 of the policy's beam captions on held-out scenes, as a trainer callback.

Every ``probe_every`` steps (and at the last one) the policy captions ``probe_size`` distinct scenes of
its tier (seed 10,000 + the run's seed, apart from the training draws) with the tier's benchmark
decoding, and the tier's CLIP ranks the scenes for each caption (text-to-image CLIP Recall, as
``rewardkit bench --benchmark toy`` measures it). It adds ``probe_R@1``, ``probe_grammatical`` (the
share of captions the tier's grammar accepts) and ``probe_example`` to the step's metrics.

The trainer attaches it itself for toy data (:data:`rewardkit.registry.TRAIN_CALLBACKS` names
:func:`attach_probe`), so ``rewardkit.train`` needs no toy code.
"""

from __future__ import annotations

from typing import Any

PROBE_SEED = 10_000
"""Probe scenes are drawn with seed ``PROBE_SEED + config.seed`` (the tier's "A2C probe" seed split)."""


class ToyProbe:
    """``on_step`` callback: adds the probe's metrics at every ``every``-th step and at the run's last step."""

    def __init__(self, tier: str, *, size: int, seed: int, every: int) -> None:
        self.tier, self.size, self.seed, self.every = tier, size, seed, every
        self._probe: tuple[list[Any], Any, Any] | None = (
            None  # images, CLIP, scene module (built on first use)
        )

    def _setup(self) -> tuple[list[Any], Any, Any]:
        from rewardkit.registry import TIERS
        from rewardkit.toy.evaluation import eval_set, evaluator

        tier = TIERS.get(self.tier)
        _, images = eval_set(tier, self.size, PROBE_SEED + self.seed)
        return images, evaluator(tier), tier.world()

    def __call__(self, trainer: Any, metrics: dict[str, Any]) -> None:
        step = trainer.step_index
        if step % self.every == 0 or step == trainer.last_step:
            metrics.update(self.measure(trainer))

    def measure(self, trainer: Any) -> dict[str, Any]:
        """The probe's metrics for the trainer's current policy."""
        import torch

        from rewardkit.backends.blip2_captioner import VLRM_GENERATION
        from rewardkit.registry import BENCHMARKS, TIERS
        from rewardkit.toy.evaluation import toy_clip_recall
        from rewardkit.train.a2c import TrainingDiverged

        if self._probe is None:
            self._probe = self._setup()
        images, clip, world = self._probe
        decoding = {**VLRM_GENERATION, **BENCHMARKS.get(TIERS.get(self.tier).benchmark).generation}
        trainer.model.eval()
        with torch.no_grad():
            try:
                caps = trainer.rollout.caption_images(images, **decoding, top_k=None, temperature=None)
            except TrainingDiverged:
                raise trainer.diverged(
                    "non-finite next-token probabilities in the probe", trainer.step_index
                ) from None
            recall = toy_clip_recall(caps, images, clip)
        return {
            "probe_R@1": recall["R@1"],
            "probe_grammatical": sum(map(world.is_grammatical, caps)) / len(caps),
            "probe_example": caps[0],
        }


def attach_probe(trainer: Any) -> None:
    """Add the probe to a trainer on toy data with a toy preset and ``probe_every`` > 0 (else nothing)."""
    cfg = trainer.config
    if cfg.preset.startswith("toy") and cfg.probe_every > 0:
        probe = ToyProbe(cfg.data, size=cfg.probe_size, seed=cfg.seed, every=cfg.probe_every)
        trainer.add_callback("on_step", probe)

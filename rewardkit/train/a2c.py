"""The A2C trainer for BLIP-2 captioners, as VLRM Section 3.5 describes it, on accelerate.

One iteration (:meth:`A2CTrainer.step`):
  1. sample captions from the policy and compute per-token returns R(t_k) with the preset's reward
     (:mod:`rewardkit.train.rollout`);
  2. values V_k from a value head on the language model's hidden states with LoRA adapters active
     *only* for this pass (:mod:`rewardkit.train.model`); L_v = mean (R - V)^2 trains LoRA and the head;
  3. advantages A = R - V (optionally minus a group baseline), normalised over the whole batch to M,
     and L_p = -mean p_k M_k (or log p_k) trains the policy's Q-Former, queries and projection.

The loop (:meth:`A2CTrainer.train`) calls callbacks by event (``trainer.add_callback(event, fn)``):
``on_step`` with ``(trainer, metrics)`` after every update, before the metrics are written (a callback may
add entries: the toy tiers' probe, :mod:`rewardkit.toy.probe`, adds ``probe_*``), and ``on_metrics``
after they are written. Callbacks registered for the training data in
:data:`rewardkit.registry.TRAIN_CALLBACKS` are attached when the trainer is built.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rewardkit.errors import RewardkitError
from rewardkit.functional.a2c import (
    a2c_advantages,
    advantage_moments,
    mean_token_entropy,
    moments_mean_std,
    normalize_with_moments,
    policy_loss,
    value_loss,
)
from rewardkit.functional.stats import nan_mean_std
from rewardkit.train.config import TrainConfig, run_setup
from rewardkit.train.data import ImageSource, image_source
from rewardkit.train.model import (
    A2CModel,
    export_policy,
    load_policy,
    ref_models_in_policy,
    shared_ref_backends,
)
from rewardkit.train.rollout import Rollout

EVENTS = ("on_step", "on_metrics")


class TrainingDiverged(RewardkitError):
    """Non-finite losses, logits, returns or weights: the run stops before checkpointing the step."""


class A2CTrainer:
    """Builds the policy, reward and optimiser from a :class:`TrainConfig`; ``train`` runs the loop.

    ``images`` overrides the source ``config.data`` names (:func:`rewardkit.train.data.image_source`).
    """

    def __init__(
        self,
        config: TrainConfig,
        out: Path,
        *,
        accelerator: Any | None = None,
        images: ImageSource | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        from accelerate import Accelerator

        from rewardkit.backends.base import resolve_device
        from rewardkit.presets import build_reward, load_preset

        self.config, self.out, self.log = config, Path(out), log
        resolve_device(config.device)  # "cuda" without a GPU is an error, not a silent CPU run
        cpu = config.device == "cpu" or not torch.cuda.is_available()
        self.acc = accelerator or Accelerator(mixed_precision=config.mixed_precision, cpu=cpu)
        torch.manual_seed(config.seed)
        blip2, self.tokenizer, self.image_processor = load_policy(config)
        self.preset = load_preset(config.preset)
        same = ref_models_in_policy(blip2, self.preset, config, log) if config.share_ref else []
        model = A2CModel(blip2, config)
        batch = max(16, config.micro_batch)
        # Reward models come from an in-process cache when loaded before: building them must not
        # move the seeded RNG, or a run's samples would depend on what the process loaded earlier.
        with torch.random.fork_rng(devices=[]):
            shared = shared_ref_backends(model, same, self.preset, device=self.acc.device, batch_size=batch)
            self.reward = build_reward(
                self.preset,
                device=str(self.acc.device),
                dtype=config.reward_dtype,
                batch_size=batch,
                backends=shared,
            )
        self.model, self.optimizer, self.scheduler = self.acc.prepare(
            model, *model.configure_optimizers(config)
        )
        self.rollout = Rollout(
            self.core,
            self.tokenizer,
            self.image_processor,
            self.reward,
            config,
            device=self.acc.device,
            diverged=self.diverged,
        )
        self.images = images if images is not None else image_source(config.data, config.seed)
        self.step_index, self.last_step = 0, config.steps
        self._last_batch: tuple[torch.Tensor, ...] | None = None
        self.callbacks: dict[str, list[Callable[..., None]]] = defaultdict(list)
        self._attach_registered_callbacks()
        # the rollout's pieces under the names the trainer has always had
        self.sample, self.pixel_values = self.rollout.sample, self.rollout.pixel_values
        self.score_components = self.rollout.score_components

    @property
    def core(self) -> A2CModel:
        return self.acc.unwrap_model(self.model)

    # ------------------------------------------------------------ callbacks

    def add_callback(self, event: str, fn: Callable[..., None]) -> None:
        """Call ``fn(trainer, metrics)`` at ``event`` (``on_step`` or ``on_metrics``) of every step."""
        if event not in EVENTS:
            raise ValueError(f"unknown trainer event {event!r}; events: {', '.join(EVENTS)}")
        self.callbacks[event].append(fn)

    def trigger(self, event: str, metrics: dict[str, Any]) -> None:
        for fn in self.callbacks[event]:
            fn(self, metrics)

    def _attach_registered_callbacks(self) -> None:
        """Let the entry registered for the training data (a toy tier: its probe) add its callbacks."""
        from rewardkit.registry import TIERS, TRAIN_CALLBACKS

        data = TIERS.canonical(self.config.data)
        if data in TRAIN_CALLBACKS:
            TRAIN_CALLBACKS.get(data)(self)

    # ------------------------------------------------------------ one step

    def diverged(self, what: str, step: int | None = None) -> TrainingDiverged:
        """The one-line error of a run that diverged at ``step`` (default: the step being computed)."""
        from rewardkit.train.checkpoint import complete_checkpoints

        step = self.step_index + 1 if step is None else step
        kept = complete_checkpoints(self.out)
        last = f"the last checkpoint, {kept[0].name}, is kept" if kept else "no checkpoint was written"
        return TrainingDiverged(
            f"training diverged at step {step} ({what}); lower lr (now {self.config.lr:g}) or grad_clip "
            f"(now {self.config.grad_clip:g}) and start a new run; {last}"
        )

    @torch.no_grad()
    def check_finite(self) -> None:
        """Raise :class:`TrainingDiverged` when the updated policy gives non-finite logits on the last batch."""
        if self._last_batch is None:
            return
        logp, _, vals = self.core(*self._last_batch)
        if not torch.isfinite(logp).all():
            raise self.diverged("non-finite logits after the update", self.step_index)
        if vals is not None and not torch.isfinite(vals).all():
            raise self.diverged("non-finite values after the update", self.step_index)

    def step(self) -> dict[str, Any]:
        """One A2C iteration over ``captions_per_step`` captions; returns its metrics."""
        cfg, acc = self.config, self.acc
        n_img = cfg.captions_per_step // cfg.samples_per_image // acc.num_processes
        images = self.images.batch(self.step_index, n_img, acc.process_index)
        self.model.train()
        exp = self.rollout.collect(images)
        embeds, ids, mask, returns = exp.embeds, exp.ids, exp.mask, exp.returns
        tok_mask = mask[:, 1:].float()
        if not torch.isfinite(returns).all():
            raise self.diverged("non-finite returns: a reward gave inf or NaN")
        with torch.no_grad():  # pass 1: values of the whole batch, for the batch-wide normalisation of A
            _, _, values = self.core(embeds, ids, mask)
        group = None
        if cfg.group_baseline and cfg.samples_per_image > 1:
            group = torch.arange(n_img, device=ids.device).repeat_interleave(cfg.samples_per_image)
        adv = a2c_advantages(returns, values, tok_mask, group=group)
        moments = advantage_moments(adv, tok_mask)  # VLRM Eq. 3: over every process's tokens
        if acc.num_processes > 1:
            moments = acc.reduce(moments, "sum")
        m = normalize_with_moments(adv, tok_mask, moments)
        # pass 2: micro-batches with gradients; each caption is used exactly once
        n = ids.shape[0]
        micro = max(1, min(cfg.micro_batch, n))
        stats = {"loss_policy": 0.0, "loss_value": 0.0, "entropy": 0.0}
        self.optimizer.zero_grad()
        for start in range(0, n, micro):
            sl, frac = slice(start, start + micro), (min(n, start + micro) - start) / n
            logp, ent, vals = self.model(embeds[sl], ids[sl], mask[sl])
            l_p = policy_loss(logp, m[sl], tok_mask[sl], cfg.policy_objective)
            l_v = value_loss(vals, returns[sl], tok_mask[sl])
            h = mean_token_entropy(ent, tok_mask[sl])
            loss = (l_p + l_v - cfg.entropy_coef * h) * frac
            if not torch.isfinite(loss):
                parts = (("logits", logp), ("values", vals), ("loss", loss))
                what = next(name for name, t in parts if not torch.isfinite(t).all())
                raise self.diverged(
                    f"non-finite {what}: policy loss {l_p.item():g}, value loss {l_v.item():g}"
                )
            acc.backward(loss)
            for key, value in (("loss_policy", l_p), ("loss_value", l_v), ("entropy", h)):
                stats[key] += value.item() * frac
        if cfg.grad_clip:
            acc.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], cfg.grad_clip)
        self.optimizer.step()
        bad = [n for n, p in self.core.named_parameters() if p.requires_grad and not torch.isfinite(p).all()]
        if bad:
            raise self.diverged(f"non-finite weights after the update, e.g. {bad[0]}")
        self.scheduler.step()
        self.step_index += 1
        self._last_batch = (embeds[:micro], ids[:micro], mask[:micro])
        groups = self.optimizer.param_groups
        metrics = {"step": self.step_index, "lr": groups[0]["lr"], "lr_value": groups[1]["lr"], **stats}
        for name, vals in exp.components.items():
            metrics[f"{name}_mean"], metrics[f"{name}_std"], _ = nan_mean_std(torch.tensor(vals))
        metrics["advantage_std"] = float(moments_mean_std(moments)[1])
        metrics["example"] = self.rollout.captions(ids[:1])[0]
        return metrics

    # ------------------------------------------------------------ checkpoints, export, loop

    def save(self) -> Path | None:
        """Trainable parameters, optimiser, scheduler and RNG state as a new numbered checkpoint (crash-safe)."""
        from rewardkit.train.checkpoint import training_state, write_checkpoint

        folder = None
        if self.acc.is_main_process:
            trainable = {
                n: p.detach().cpu().contiguous() for n, p in self.core.named_parameters() if p.requires_grad
            }
            state = training_state(self.optimizer, self.scheduler, self.step_index)
            setup = run_setup(self.config)
            folder = write_checkpoint(
                self.out, self.step_index, trainable, state, self.config.to_dict(), setup
            )
        self.acc.wait_for_everyone()
        return folder

    def load(self, path: Path | None = None) -> Path | None:
        """Restore the run's newest usable checkpoint (or the checkpoint folder ``path``); exact continuation on CPU.

        Returns the folder used, or ``None`` when the run has no checkpoint yet (it then starts at
        step 0). ``metrics.jsonl`` keeps only the steps up to the restored one.
        """
        from rewardkit.train import checkpoint as ckpt

        found = ckpt.find_checkpoint(Path(path) if path is not None else self.out, log=self.log)
        if found:
            folder, weights, state = found
            ckpt.check_resume(folder, self.config.to_dict(), run_setup(self.config))
            ckpt.check_shapes(folder, weights, self.core.state_dict())
            self.core.load_state_dict(weights, strict=False)
            self.step_index = ckpt.restore_training_state(state, self.optimizer, self.scheduler)
        metrics = self.out / "metrics.jsonl"
        if (
            metrics.exists() and self.acc.is_main_process
        ):  # drop steps logged after the restored state, torn lines
            ckpt.rewrite_metrics(metrics, ckpt.read_metrics(metrics, up_to=self.step_index))
        return found[0] if found else None

    def export_policy(self, out: Path) -> Path:
        """The trained captioner as a plain BLIP-2 folder (adapters and value head dropped)."""
        if self.acc.is_main_process:
            meta = {
                "trained_by": "rewardkit train",
                "steps": self.step_index,
                "config": self.config.to_dict(),
            }
            export_policy(self.core, self.tokenizer, self.image_processor, Path(out), meta)
        self.acc.wait_for_everyone()
        return out

    def train(
        self,
        steps: int,
        *,
        on_step: Callable[[dict[str, Any]], None] | None = None,
        max_seconds: float | None = None,
    ) -> list[dict[str, Any]]:
        """Run until ``steps`` iterations in total (or ``max_seconds``); metrics go to ``OUT/metrics.jsonl``.

        ``on_step`` is called with each step's metrics once they are written (an ``on_metrics`` callback
        for this run only).
        """
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        self.last_step = steps
        history = []
        t0 = time.time()
        while self.step_index < steps:
            metrics = self.step()
            metrics["seconds"] = time.time() - t0
            self.trigger("on_step", metrics)
            if self.acc.is_main_process:
                with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(metrics) + "\n")
            history.append(metrics)
            self.trigger("on_metrics", metrics)
            if on_step is not None:
                on_step(metrics)
            out_of_time = max_seconds is not None and time.time() - t0 > max_seconds
            if cfg.checkpoint_every and (
                self.step_index % cfg.checkpoint_every == 0 or self.step_index == steps or out_of_time
            ):
                self.check_finite()  # a checkpoint is never written from weights that give NaN
                self.save()
            if out_of_time:
                break
        return history

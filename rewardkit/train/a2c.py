"""A minimal A2C trainer for BLIP-2 captioners, as VLRM Section 3.5 describes it, on accelerate.

One iteration (``A2CTrainer.step``):
  1. sample captions from the policy (top-k, temperature) and compute per-token returns R(t_k)
     with the preset's reward (VLRM Eq. 1: sequence-level model scores plus the bad / repeat /
     no-EOS penalties placed at their tokens);
  2. values V_k from a value head on the language model's hidden states with LoRA adapters
     active *only* for this pass; L_v = mean (R - V)^2 trains LoRA and the head;
  3. advantages A = R - V (optionally minus a group baseline), normalised over the whole batch
     to M, and L_p = -mean p_k M_k (or log p_k) trains the policy's Q-Former, queries and projection.
"""

from __future__ import annotations

import json
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rewardkit.errors import RewardkitError
from rewardkit.functional.a2c import (
    a2c_advantages,
    advantage_moments,
    moments_mean_std,
    normalize_with_moments,
    policy_loss,
    token_entropy,
    value_loss,
)
from rewardkit.functional.assembly import TOKEN_LEVEL, sequence_weights, token_weights, weighted_total
from rewardkit.train.config import TrainConfig, check_load_report, check_policy, run_setup
from rewardkit.train.value_head import build_value_head


class A2CModel(nn.Module):
    """BLIP-2 policy + LoRA'd language model (value pass only) + value head, as one module for DDP."""

    def __init__(self, blip2: nn.Module, config: TrainConfig) -> None:
        super().__init__()
        from peft import LoraConfig, get_peft_model

        self.blip2 = blip2
        blip2.requires_grad_(False)
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            target_modules=list(config.lora_targets),
            lora_dropout=0.0,
        )
        # LoRA layers are injected in place: blip2.language_model and self.lm share them, and
        # every policy pass (sampling included) runs inside ``self.lm.disable_adapter()``.
        with warnings.catch_warnings():  # peft reads a transformers attribute deprecated in v5
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            self.lm = get_peft_model(blip2.language_model, lora)
        hidden = blip2.config.text_config.hidden_size
        self.value_head = build_value_head(config.value_head, hidden, layers=config.value_head_layers)
        for name, p in blip2.named_parameters():
            if name.startswith(tuple(config.trainable)) and "lora_" not in name:
                p.requires_grad_(True)
        self.n_query = blip2.config.num_query_tokens

    def policy_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters of the generating part (Q-Former, queries, projection by default)."""
        return [p for n, p in self.blip2.named_parameters() if p.requires_grad and "lora_" not in n]

    def value_parameters(self) -> list[nn.Parameter]:
        """LoRA adapters and the value head."""
        lora = [p for n, p in self.lm.named_parameters() if "lora_" in n]
        return lora + list(self.value_head.parameters())

    def image_embeds(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Frozen vision-encoder states (no gradient unless the encoder is trainable)."""
        grad = any(p.requires_grad for p in self.blip2.vision_model.parameters())
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            return self.blip2.vision_model(pixel_values=pixel_values).last_hidden_state

    def prefix(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """Q-Former queries projected into the language model's input space, ``[B, Q, H]``."""
        m = self.blip2
        q = m.qformer(
            query_embeds=m.query_tokens.expand(image_embeds.shape[0], -1, -1),
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=torch.ones(
                image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device
            ),
        ).last_hidden_state
        return m.language_projection(q.to(m.language_projection.weight.dtype))

    def _lm_inputs(
        self, prefix: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.lm.get_input_embeddings()(ids)
        inputs = torch.cat([prefix.to(emb.dtype), emb], 1)
        att = torch.cat([torch.ones(prefix.shape[:2], dtype=mask.dtype, device=mask.device), mask], 1)
        return inputs, att

    def forward(
        self, image_embeds: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, *, values: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Token log-probs ``[B, T]``, entropies ``[B, T]`` and values ``[B, T]`` of captions ``ids``.

        ``ids`` is ``[BOS, t_1 .. t_T]`` (``[B, T+1]``) and ``mask`` marks BOS and real tokens.
        The policy pass runs with adapters disabled; the value pass with adapters enabled and
        the visual prefix detached, so L_v reaches only LoRA and the value head.
        """
        prefix = self.prefix(image_embeds)
        inputs, att = self._lm_inputs(prefix, ids, mask)
        q = self.n_query
        with self.lm.disable_adapter():
            logits = self.lm(inputs_embeds=inputs, attention_mask=att).logits[:, q : q + ids.shape[1] - 1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        ent = token_entropy(logits)
        vals = None
        if values:
            v_inputs, _ = self._lm_inputs(prefix.detach(), ids, mask)
            hidden = self.lm(
                inputs_embeds=v_inputs, attention_mask=att, output_hidden_states=True
            ).hidden_states[-1]
            vals = self.value_head(hidden, att)[:, q : q + ids.shape[1] - 1]
        return logp, ent, vals


class TrainingDiverged(RewardkitError):
    """Non-finite losses, logits, returns or weights: the run stops before checkpointing the step."""


TOY_DATA = ("toy", "toy-hard")
"""``data`` values that draw procedural scenes (``toy-hard``: its training split only)."""


class ImageSource:
    """Training images: toy scenes rendered on the fly, or a fixed list of image files."""

    def __init__(self, data: str, seed: int) -> None:
        self.data, self.seed = data, seed
        self.files: list[Path] = []
        if data not in TOY_DATA:
            path = Path(data)
            if path.is_dir():
                self.files = sorted(
                    p for p in path.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
                )
            elif path.is_file():
                from rewardkit.scoring.rows import read_rows

                rows, _ = read_rows(path)
                self.files = list(dict.fromkeys(r.image for r in rows if r.image is not None))
            if not self.files:
                from rewardkit.errors import RewardkitError

                raise RewardkitError(f"no training images found in {data!r}")

    def batch(self, step: int, n: int, rank: int = 0) -> list[Any]:
        """The ``n`` images of a step (deterministic in step and rank: resuming replays the same data)."""
        rng = random.Random(f"{self.seed}-{step}-{rank}")
        if self.data in TOY_DATA:
            from rewardkit.registry import TIERS

            w = TIERS.get(self.data).world()
            return [w.render(w.sample_scene(rng)) for _ in range(n)]
        from rewardkit.io.images import load_image

        out = []
        for p in (
            rng.sample(self.files, min(n, len(self.files)))
            if n <= len(self.files)
            else rng.choices(self.files, k=n)
        ):
            out.append(load_image(p, name=f"image {str(p)!r}").image)
        return out


class A2CTrainer:
    """Builds the policy, reward and optimiser from a :class:`TrainConfig`; ``train`` runs the loop."""

    def __init__(
        self,
        config: TrainConfig,
        out: Path,
        *,
        accelerator: Any | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        from accelerate import Accelerator
        from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForConditionalGeneration

        from rewardkit.backends.base import load_hf
        from rewardkit.presets import build_reward, load_preset

        self.config, self.out, self.log = config, Path(out), log
        from rewardkit.backends.base import resolve_device

        resolve_device(config.device)  # "cuda" without a GPU is an error, not a silent CPU run
        cpu = config.device == "cpu" or not torch.cuda.is_available()
        self.acc = accelerator or Accelerator(mixed_precision=config.mixed_precision, cpu=cpu)
        torch.manual_seed(config.seed)
        policy = check_policy(config.policy)
        self.policy_name = policy
        from rewardkit.backends.base import resolve_dtype

        # On CPUs without native bf16 (no AVX512-BF16/AMX), bf16 backward runs ~12x slower than fp32
        # (benchmarks/results/real_size.json): a bf16 checkpoint can be trained as fp32 with policy_dtype.
        kwargs = {} if config.policy_dtype == "auto" else {"dtype": resolve_dtype(config.policy_dtype)}
        blip2, info = load_hf(Blip2ForConditionalGeneration, policy, output_loading_info=True, **kwargs)
        check_load_report(config.policy, info)
        self.tokenizer = load_hf(AutoTokenizer, policy)
        self.image_processor = load_hf(AutoImageProcessor, policy)
        self.preset = load_preset(config.preset)
        same = self._ref_models_in_policy(blip2) if config.share_ref else []
        self.model = A2CModel(blip2, config)
        device = self.acc.device
        shared = self._shared_ref_backends(same)
        self.reward = build_reward(
            self.preset,
            device=str(device),
            dtype=config.reward_dtype,
            batch_size=max(16, config.micro_batch),
            backends=shared,
        )
        unknown = sorted(set(config.reward_weights) - set(self.reward.weights) - set(TOKEN_LEVEL))
        if unknown:
            from rewardkit.errors import RewardkitError

            raise RewardkitError(
                f"reward_weights: preset {self.preset.name!r} has no component {', '.join(map(repr, unknown))}; "
                f"it has {', '.join(self.reward.weights)}"
            )
        # Every component's presence and weight come from the preset (then the config): a penalty the
        # preset leaves out is not applied.
        weights = {**self.reward.weights, **config.reward_weights}
        self.seq_weights = sequence_weights(weights)
        self.token_weights = token_weights(weights)
        self.bad_phrases, self.repeat_exempt = None, None
        for c in self.reward.components:  # token-level penalties use the preset's own lists
            if c.name == "bad":
                self.bad_phrases = getattr(c.reward, "phrases", None)
            if c.name == "repeat":
                self.repeat_exempt = getattr(c.reward, "exempt", None)
        groups = [
            {"params": self.model.policy_parameters(), "lr": config.lr},
            {"params": self.model.value_parameters(), "lr": config.value_lr or config.lr},
        ]
        self.optimizer = torch.optim.Adam(groups, weight_decay=config.weight_decay)
        warm = max(1, config.warmup_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: min(1.0, (s + 1) / warm))
        self.model, self.optimizer, self.scheduler = self.acc.prepare(
            self.model, self.optimizer, self.scheduler
        )
        self.images = ImageSource(config.data, config.seed)
        self.step_index = 0
        self.probe = None

    def _ref_models_in_policy(self, blip2: nn.Module) -> list[str]:
        """Model keys of the preset's ``ref`` components whose weights equal the policy's frozen LM."""
        from rewardkit.backends.sharing import weights_differ
        from rewardkit.presets import model_spec

        keys = []
        for c in self.preset.components:
            if c.reward != "ref" or not c.model or c.model in keys:
                continue
            if "language_model" in self.config.trainable or any(
                t.startswith("language_model") for t in self.config.trainable
            ):
                self.log(f"ref ({c.model}): loaded separately (the policy's LM is trained)")
                continue
            spec = model_spec(c.model, self.preset)
            why = (
                weights_differ(blip2.language_model, spec.checkpoint)
                if spec.backend == "causal_lm"
                else "not a causal LM"
            )
            if why is None:
                keys.append(c.model)
                self.log(f"ref ({c.model}): shares the policy's frozen language model (weights identical)")
            else:
                self.log(f"ref ({c.model}): loaded separately ({why})")
        return keys

    def _shared_ref_backends(self, keys: list[str]) -> dict[str, Any]:
        """Causal-LM backends over the policy's LM with LoRA disabled, for the model keys in ``keys``."""
        from transformers import AutoTokenizer

        from rewardkit.backends.base import load_hf
        from rewardkit.backends.causal_lm import CausalLMBackend
        from rewardkit.presets import model_spec

        out = {}
        lm = self.model.lm
        for key in keys:
            spec = model_spec(key, self.preset)
            out[key] = CausalLMBackend.shared(
                lm,
                load_hf(AutoTokenizer, spec.checkpoint),
                name=spec.checkpoint,
                context=lm.disable_adapter,
                device=self.acc.device,
                batch_size=max(16, self.config.micro_batch),
                **spec.options,
            )
        return out

    # ------------------------------------------------------------ pieces of one step

    @property
    def core(self) -> A2CModel:
        return self.acc.unwrap_model(self.model)

    def pixel_values(self, images: Sequence[Any]) -> torch.Tensor:
        pix = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return pix.to(self.acc.device)

    @torch.no_grad()
    def sample(
        self, image_embeds: torch.Tensor, n: int, **generation: Any
    ) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """``n`` captions per image: ids ``[B*n, T+1]`` starting with BOS, their mask, and ended-with-EOS flags."""
        core, cfg, tok = self.core, self.config, self.tokenizer
        prefix = core.prefix(image_embeds).repeat_interleave(n, 0)
        bos = torch.full((prefix.shape[0], 1), tok.bos_token_id, device=prefix.device)
        inputs, att = core._lm_inputs(prefix, bos, torch.ones_like(bos))
        settings = {
            "do_sample": True,
            "top_k": cfg.top_k,
            "temperature": cfg.temperature,
            "max_new_tokens": cfg.max_new_tokens,
        }
        settings.update(generation)
        settings = {k: v for k, v in settings.items() if v is not None}
        if not torch.isfinite(prefix).all():
            raise self.diverged("non-finite visual prefix from the Q-Former")
        with core.lm.disable_adapter():
            try:
                gen = core.lm.generate(
                    inputs_embeds=inputs,
                    attention_mask=att,
                    eos_token_id=tok.eos_token_id,
                    pad_token_id=tok.pad_token_id,
                    **settings,
                )
            except RuntimeError as exc:  # torch.multinomial on inf/NaN probabilities
                if "probability tensor" in str(exc) or "nan" in str(exc).lower():
                    raise self.diverged("non-finite next-token probabilities while sampling") from None
                raise
        eos = tok.eos_token_id
        rows, ended = [], []
        for seq in gen.tolist():
            if eos in seq:
                seq = seq[: seq.index(eos) + 1]
                ended.append(True)
            else:
                ended.append(False)
            rows.append([tok.bos_token_id, *seq])
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return ids.to(prefix.device), mask.to(prefix.device), ended

    def captions(self, ids: torch.Tensor) -> list[str]:
        from rewardkit.backends.blip2_captioner import clean_caption

        return [clean_caption(t) for t in self.tokenizer.batch_decode(ids[:, 1:], skip_special_tokens=True)]

    def score_components(
        self, caps: list[str], images: list[Any], ended: list[bool]
    ) -> dict[str, list[float]]:
        """Every reward component per caption; batch-dependent ones (Φ) over groups of distinct images.

        The batch is image-major with ``samples_per_image`` samples per image; with a batch-dependent
        component, the reward is computed on each group of
        :func:`rewardkit.functional.distinct_image_groups` (sample ``j`` of every image in group ``j``),
        so Φ's softmax (VLRM Eq. 5) runs over distinct images, and the values are put back at their captions.
        """
        from rewardkit.rewards.groups import score_components_grouped

        image = list(range(len(caps) // self.config.samples_per_image))
        keys = [i for i in image for _ in range(self.config.samples_per_image)]
        return score_components_grouped(self.reward, caps, keys, images=images, ended_with_eos=ended)

    def returns(
        self, ids: torch.Tensor, mask: torch.Tensor, ended: list[bool], images: list[Any]
    ) -> tuple[torch.Tensor, dict[str, list[float]]]:
        """Per-token returns ``[B, T]`` (VLRM Eq. 1) aligned with the log-probs, and every reward component per caption.

        The sequence score is the preset's weighted sum of its sequence components; the bad,
        repeat and no-EOS penalties are placed at their tokens with the preset's weights
        (:func:`rewardkit.functional.batch_token_returns_from_ids`, the same assembly external
        code uses).
        """
        from rewardkit.functional.returns import batch_token_returns_from_ids

        caps = self.captions(ids)
        comps = self.score_components(caps, images, ended)
        seq = weighted_total(comps, self.seq_weights)
        seq = [0.0 if math.isnan(x) else x for x in seq]
        tok = self.tokenizer
        ret, tok_mask = batch_token_returns_from_ids(
            tok,
            ids[:, 1:],
            sim=seq,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            weights=self.token_weights,
            gamma=self.config.gamma,
            bad_phrases=self.bad_phrases,
            repeat_exempt=self.repeat_exempt,
        )
        comps["sequence"] = seq
        comps["length"] = tok_mask.sum(-1).float().tolist()
        return ret, comps

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
        if getattr(self, "_last_batch", None) is None:
            return
        embeds, ids, mask = self._last_batch
        logp, _, vals = self.core(embeds, ids, mask)
        if not torch.isfinite(logp).all():
            raise self.diverged("non-finite logits after the update", self.step_index)
        if vals is not None and not torch.isfinite(vals).all():
            raise self.diverged("non-finite values after the update", self.step_index)

    def step(self) -> dict[str, Any]:
        """One A2C iteration over ``captions_per_step`` captions; returns its metrics."""
        cfg, acc = self.config, self.acc
        n_img = cfg.captions_per_step // cfg.samples_per_image // acc.num_processes
        images = self.images.batch(self.step_index, n_img, acc.process_index)
        pix = self.pixel_values(images)
        self.model.train()
        with torch.no_grad():
            embeds = self.core.image_embeds(pix)
        ids, mask, ended = self.sample(embeds, cfg.samples_per_image)
        rep_images = [im for im in images for _ in range(cfg.samples_per_image)]
        returns, comps = self.returns(ids, mask, ended, rep_images)
        tok_mask = mask[:, 1:].float()
        if not torch.isfinite(returns).all():
            raise self.diverged("non-finite returns: a reward gave inf or NaN")
        embeds_rep = embeds.repeat_interleave(cfg.samples_per_image, 0)
        # Pass 1 (no grad): values of the whole batch, for the batch-wide normalisation of A.
        with torch.no_grad():
            _, _, values = self.core(embeds_rep, ids, mask)
        group = None
        if cfg.group_baseline and cfg.samples_per_image > 1:
            group = torch.arange(n_img, device=ids.device).repeat_interleave(cfg.samples_per_image)
        adv = a2c_advantages(returns, values, tok_mask, group=group)
        # VLRM Eq. 3: mean and std over the tokens of every process's captions (the whole batch).
        moments = advantage_moments(adv, tok_mask)
        if acc.num_processes > 1:
            moments = acc.reduce(moments, "sum")
        m = normalize_with_moments(adv, tok_mask, moments)
        std = moments_mean_std(moments)[1]
        # Pass 2: micro-batches with gradients; each caption is used exactly once.
        n = ids.shape[0]
        micro = max(1, min(cfg.micro_batch, n))
        stats = {"loss_policy": 0.0, "loss_value": 0.0, "entropy": 0.0}
        self.optimizer.zero_grad()
        for start in range(0, n, micro):
            sl = slice(start, start + micro)
            frac = (min(n, start + micro) - start) / n
            logp, ent, vals = self.model(embeds_rep[sl], ids[sl], mask[sl])
            tm = tok_mask[sl]
            l_p = policy_loss(logp, m[sl], tm, cfg.policy_objective)
            l_v = value_loss(vals, returns[sl], tm)
            h = ((ent * tm).sum(-1) / tm.sum(-1).clamp(min=1)).mean()
            loss = (l_p + l_v - cfg.entropy_coef * h) * frac
            if not torch.isfinite(loss):
                what = (
                    "logits"
                    if not torch.isfinite(logp).all()
                    else "values"
                    if not torch.isfinite(vals).all()
                    else "loss"
                )
                raise self.diverged(
                    f"non-finite {what}: policy loss {l_p.item():g}, value loss {l_v.item():g}"
                )
            acc.backward(loss)
            stats["loss_policy"] += l_p.item() * frac
            stats["loss_value"] += l_v.item() * frac
            stats["entropy"] += h.item() * frac
        if cfg.grad_clip:
            acc.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], cfg.grad_clip)
        self.optimizer.step()
        bad = [n for n, p in self.core.named_parameters() if p.requires_grad and not torch.isfinite(p).all()]
        if bad:
            raise self.diverged(f"non-finite weights after the update, e.g. {bad[0]}")
        self.scheduler.step()
        self.step_index += 1
        self._last_batch = (embeds_rep[:micro], ids[:micro], mask[:micro])
        metrics: dict[str, Any] = {
            "step": self.step_index,
            "lr": self.optimizer.param_groups[0]["lr"],
            "lr_value": self.optimizer.param_groups[1]["lr"],
            **stats,
        }
        for name, vals in comps.items():
            v = torch.tensor([x for x in vals if not math.isnan(x)] or [math.nan])
            metrics[f"{name}_mean"] = float(v.mean())
            metrics[f"{name}_std"] = float(v.std()) if v.numel() > 1 else 0.0
        metrics["advantage_std"] = float(std)
        metrics["example"] = self.captions(ids[:1])[0]
        return metrics

    # ------------------------------------------------------------ evaluation, checkpoints, loop

    @torch.no_grad()
    def probe_recall(self) -> dict[str, float]:
        """Toy data: toy-CLIP R@1 of beam captions (the toy benchmark's decoding) on held-out scenes.

        ``toy-hard`` probes on its compositional split with ``toy-hard-clip``."""
        from rewardkit.backends.blip2_captioner import VLRM_GENERATION
        from rewardkit.bench.benchmarks import get_benchmark
        from rewardkit.registry import TIERS
        from rewardkit.toy.evaluation import evaluator, toy_clip_recall

        tier = TIERS.get(self.config.data)
        w = tier.world()
        if self.probe is None:
            scene_list = w.distinct_scenes(self.config.probe_size, 10_000 + self.config.seed)
            self.probe = ([w.render(s) for s in scene_list], evaluator(tier))
        images, clip = self.probe
        self.model.eval()
        caps = []
        settings = {**VLRM_GENERATION, **get_benchmark(self.config.data).generation}
        for i in range(0, len(images), 50):
            embeds = self.core.image_embeds(self.pixel_values(images[i : i + 50]))
            try:
                ids, _, _ = self.sample(embeds, 1, **settings, top_k=None, temperature=None)
            except TrainingDiverged:
                raise self.diverged(
                    "non-finite next-token probabilities in the probe", self.step_index
                ) from None
            caps.extend(self.captions(ids))
        r = toy_clip_recall(caps, images, clip)
        return {
            "probe_R@1": r["R@1"],
            "probe_grammatical": sum(map(w.is_grammatical, caps)) / len(caps),
            "probe_example": caps[0],
        }

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step_index,
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
        }

    def save(self) -> Path | None:
        """Trainable parameters (safetensors), optimiser, scheduler and RNG state as a new numbered checkpoint.

        Crash-safe at every instant (see :mod:`rewardkit.train.checkpoint`).
        """
        from rewardkit.train.checkpoint import write_checkpoint

        acc = self.acc
        folder = None
        if acc.is_main_process:
            trainable = {
                n: p.detach().cpu().contiguous() for n, p in self.core.named_parameters() if p.requires_grad
            }
            state = {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                **self.state(),
            }
            folder = write_checkpoint(
                self.out, self.step_index, trainable, state, self.config.to_dict(), run_setup(self.config)
            )
        acc.wait_for_everyone()
        return folder

    def load(self, path: Path | None = None) -> Path | None:
        """Restore the run's newest usable checkpoint (or the checkpoint folder ``path``); exact continuation on CPU.

        Returns the folder used, or ``None`` when the run has no checkpoint yet (it then starts at
        step 0). ``metrics.jsonl`` keeps only the steps up to the restored one.
        """
        from rewardkit.train.checkpoint import (
            CheckpointError,
            check_resume,
            load_latest,
            read_checkpoint,
            read_metrics,
            rewrite_metrics,
        )

        if path is not None and (Path(path) / "trainable.safetensors").exists():
            folder: Path | None = Path(path)
            weights, state = read_checkpoint(Path(path))
        else:
            found = load_latest(Path(path) if path is not None else self.out, log=self.log)
            folder, weights, state = found if found else (None, None, None)
        if folder is not None:
            check_resume(folder, self.config.to_dict(), run_setup(self.config))
            own = self.core.state_dict()
            bad = [k for k in weights if k not in own or own[k].shape != weights[k].shape]
            if bad:
                raise CheckpointError(
                    f"{folder}: holds {len(bad)} tensors this policy does not have or has in another shape "
                    f"(e.g. {bad[0]}); was it written with another --policy or config?"
                )
            self.core.load_state_dict(weights, strict=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.step_index = int(state["step"])
            torch.set_rng_state(state["torch_rng"])
            py = state["python_rng"]
            random.setstate((py[0], tuple(py[1]), py[2]))
        metrics = self.out / "metrics.jsonl"
        if (
            metrics.exists() and self.acc.is_main_process
        ):  # drop steps logged after the restored state, and torn lines
            rewrite_metrics(metrics, read_metrics(metrics, up_to=self.step_index))
        return folder

    def export_policy(self, out: Path) -> Path:
        """The trained captioner as a plain BLIP-2 folder (adapters and value head dropped)."""
        core = self.core
        if self.acc.is_main_process:
            blip2 = core.blip2
            sd = {k.replace("base_layer.", ""): v for k, v in blip2.state_dict().items() if "lora_" not in k}
            blip2.save_pretrained(out, state_dict=sd)
            self.tokenizer.save_pretrained(out)
            self.image_processor.save_pretrained(out)
            meta = {
                "trained_by": "rewardkit train",
                "steps": self.step_index,
                "config": self.config.to_dict(),
            }
            (Path(out) / "rewardkit.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        self.acc.wait_for_everyone()
        return out

    def train(
        self,
        steps: int,
        *,
        on_step: Callable[[dict[str, Any]], None] | None = None,
        max_seconds: float | None = None,
    ) -> list[dict[str, Any]]:
        """Run until ``steps`` iterations in total (or ``max_seconds``); metrics go to ``OUT/metrics.jsonl``."""
        cfg, acc = self.config, self.acc
        self.out.mkdir(parents=True, exist_ok=True)
        history = []
        metrics_path = self.out / "metrics.jsonl"
        toy_probe = cfg.data in TOY_DATA and cfg.preset.startswith("toy") and cfg.probe_every > 0
        t0 = time.time()
        while self.step_index < steps:
            metrics = self.step()
            metrics["seconds"] = time.time() - t0
            if toy_probe and (self.step_index % cfg.probe_every == 0 or self.step_index == steps):
                metrics.update(self.probe_recall())
            if acc.is_main_process:
                with open(metrics_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(metrics) + "\n")
            history.append(metrics)
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

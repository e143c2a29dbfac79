"""The trained module: a BLIP-2 policy, LoRA adapters on its language model for the value pass only, a value head.

:class:`A2CModel` is one ``nn.Module`` (for DDP) computing token log-probs, entropies and values
(VLRM Section 3.5); :func:`load_policy` reads a captioner checkpoint; :func:`ref_models_in_policy` and
:func:`shared_ref_backends` let the preset's ``ref`` reward run through the policy's frozen language
model when the weights are the same (VLRM's OPT-2.7B inside BLIP-2).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rewardkit.functional.a2c import token_entropy
from rewardkit.train.config import TrainConfig, check_load_report, check_policy
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

    def configure_optimizers(self, config: TrainConfig) -> tuple[torch.optim.Optimizer, Any]:
        """Adam over the policy (``lr``) and the value path (``value_lr``; VLRM: no weight decay), linear warm-up."""
        groups = [
            {"params": self.policy_parameters(), "lr": config.lr},
            {"params": self.value_parameters(), "lr": config.value_lr or config.lr},
        ]
        optimizer = torch.optim.Adam(groups, weight_decay=config.weight_decay)
        warm = max(1, config.warmup_steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warm))
        return optimizer, scheduler

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

    def lm_inputs(
        self, prefix: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Input embeddings ``[prefix, embed(ids)]`` and their attention mask (the prefix always attended)."""
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
        inputs, att = self.lm_inputs(prefix, ids, mask)
        q = self.n_query
        with self.lm.disable_adapter():
            logits = self.lm(inputs_embeds=inputs, attention_mask=att).logits[:, q : q + ids.shape[1] - 1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        ent = token_entropy(logits)
        vals = None
        if values:
            v_inputs, _ = self.lm_inputs(prefix.detach(), ids, mask)
            hidden = self.lm(
                inputs_embeds=v_inputs, attention_mask=att, output_hidden_states=True
            ).hidden_states[-1]
            vals = self.value_head(hidden, att)[:, q : q + ids.shape[1] - 1]
        return logp, ent, vals


def load_policy(config: TrainConfig) -> tuple[nn.Module, Any, Any]:
    """The BLIP-2 captioner ``config.policy`` names, its tokenizer and its image processor.

    ``policy_dtype`` other than ``auto`` loads the weights in that dtype: on CPUs without native
    bf16, bf16 backward runs ~12x slower than fp32 (benchmarks/results/real_size.json).
    """
    from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForConditionalGeneration

    from rewardkit.backends.base import load_hf, resolve_dtype

    policy = check_policy(config.policy)
    kwargs = {} if config.policy_dtype == "auto" else {"dtype": resolve_dtype(config.policy_dtype)}
    blip2, info = load_hf(Blip2ForConditionalGeneration, policy, output_loading_info=True, **kwargs)
    check_load_report(config.policy, info)
    return blip2, load_hf(AutoTokenizer, policy), load_hf(AutoImageProcessor, policy)


def ref_models_in_policy(
    blip2: nn.Module, preset: Any, config: TrainConfig, log: Callable[[str], None]
) -> list[str]:
    """Model keys of the preset's ``ref`` components whose weights equal the policy's frozen LM."""
    from rewardkit.backends.sharing import weights_differ
    from rewardkit.presets import model_spec

    keys: list[str] = []
    for c in preset.components:
        if c.reward != "ref" or not c.model or c.model in keys:
            continue
        if "language_model" in config.trainable or any(
            t.startswith("language_model") for t in config.trainable
        ):
            log(f"ref ({c.model}): loaded separately (the policy's LM is trained)")
            continue
        spec = model_spec(c.model, preset)
        why = (
            weights_differ(blip2.language_model, spec.checkpoint)
            if spec.backend == "causal_lm"
            else "not a causal LM"
        )
        if why is None:
            keys.append(c.model)
            log(f"ref ({c.model}): shares the policy's frozen language model (weights identical)")
        else:
            log(f"ref ({c.model}): loaded separately ({why})")
    return keys


def shared_ref_backends(
    model: A2CModel, keys: list[str], preset: Any, *, device: Any, batch_size: int
) -> dict[str, Any]:
    """Causal-LM backends over the policy's LM with LoRA disabled, for the model keys in ``keys``."""
    from transformers import AutoTokenizer

    from rewardkit.backends.base import load_hf
    from rewardkit.backends.causal_lm import CausalLMBackend
    from rewardkit.presets import model_spec

    out = {}
    lm = model.lm
    for key in keys:
        spec = model_spec(key, preset)
        out[key] = CausalLMBackend.shared(
            lm,
            load_hf(AutoTokenizer, spec.checkpoint),
            name=spec.checkpoint,
            context=lm.disable_adapter,
            device=device,
            batch_size=batch_size,
            **spec.options,
        )
    return out


def export_policy(
    model: A2CModel, tokenizer: Any, image_processor: Any, out: Path, meta: dict[str, Any]
) -> Path:
    """The trained captioner as a plain BLIP-2 folder (adapters and value head dropped), ``meta`` as rewardkit.json."""
    import json

    blip2 = model.blip2
    sd = {k.replace("base_layer.", ""): v for k, v in blip2.state_dict().items() if "lora_" not in k}
    blip2.save_pretrained(out, state_dict=sd)
    tokenizer.save_pretrained(out)
    image_processor.save_pretrained(out)
    (out / "rewardkit.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out

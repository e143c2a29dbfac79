"""One step's experience: captions sampled from the policy, every reward component, per-token returns.

VLRM Section 3.5 step 1: sample captions (top-k, temperature), score them with the preset's reward and
place the sequence score and the bad / repeat / no-EOS penalties at their tokens (VLRM Eq. 1) with
:func:`rewardkit.functional.batch_token_returns_from_ids`, the same assembly external code uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rewardkit.errors import RewardkitError
from rewardkit.functional.assembly import TOKEN_LEVEL, sequence_weights, token_weights, weighted_total
from rewardkit.train.config import TrainConfig
from rewardkit.train.model import A2CModel


def reward_weights(reward: Any, overrides: dict[str, float], preset: str) -> dict[str, float]:
    """Every component's weight: the preset's, then the config's ``reward_weights``.

    A penalty the preset leaves out is not applied; an override naming no component is refused.
    """
    unknown = sorted(set(overrides) - set(reward.weights) - set(TOKEN_LEVEL))
    if unknown:
        raise RewardkitError(
            f"reward_weights: preset {preset!r} has no component {', '.join(map(repr, unknown))}; "
            f"it has {', '.join(reward.weights)}"
        )
    return {**reward.weights, **overrides}


def token_penalty_options(reward: Any) -> dict[str, Any]:
    """The preset's own bad-phrase list and repeat exemptions, for placing those penalties at their tokens.

    Read off the built components (:attr:`BadPhrasePenalty.phrases`, :attr:`RepeatPenalty.exempt`);
    ``None`` (the packaged lists) where the preset has no such component.
    """
    from rewardkit.rewards.penalties import BadPhrasePenalty, RepeatPenalty

    options: dict[str, Any] = {"bad_phrases": None, "repeat_exempt": None}
    for c in reward.components:
        if c.name == "bad" and isinstance(c.reward, BadPhrasePenalty):
            options["bad_phrases"] = c.reward.phrases
        if c.name == "repeat" and isinstance(c.reward, RepeatPenalty):
            options["repeat_exempt"] = c.reward.exempt
    return options


@dataclass
class Experience:
    """A step's captions (``samples_per_image`` per image, image-major) and what the reward made of them."""

    embeds: torch.Tensor  # vision-encoder states, one row per caption
    ids: torch.Tensor  # [B, T+1]: BOS, tokens, EOS if it stopped, padding
    mask: torch.Tensor  # BOS and real tokens
    returns: torch.Tensor  # [B, T], aligned with the token log-probs
    components: dict[str, list[float]]  # every reward component per caption, plus sequence and length


class Rollout:
    """Sampling, decoding and scoring with one policy and one reward (the trainer's first half)."""

    def __init__(
        self,
        model: A2CModel,
        tokenizer: Any,
        image_processor: Any,
        reward: Any,
        config: TrainConfig,
        *,
        device: Any,
        diverged: Callable[[str], Exception],
    ) -> None:
        self.model, self.tokenizer, self.image_processor = model, tokenizer, image_processor
        self.reward, self.config, self.device, self.diverged = reward, config, device, diverged
        weights = reward_weights(reward, config.reward_weights, config.preset)
        self.seq_weights = sequence_weights(weights)
        self.token_weights = token_weights(weights)
        self.penalty_options = token_penalty_options(reward)

    def pixel_values(self, images: Sequence[Any]) -> torch.Tensor:
        pix = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return pix.to(self.device)

    @torch.no_grad()
    def sample(
        self, image_embeds: torch.Tensor, n: int, **generation: Any
    ) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """``n`` captions per image: ids ``[B*n, T+1]`` starting with BOS, their mask, and ended-with-EOS flags."""
        model, cfg, tok = self.model, self.config, self.tokenizer
        prefix = model.prefix(image_embeds).repeat_interleave(n, 0)
        bos = torch.full((prefix.shape[0], 1), tok.bos_token_id, device=prefix.device)
        inputs, att = model.lm_inputs(prefix, bos, torch.ones_like(bos))
        settings = {
            "do_sample": True,
            "top_k": cfg.top_k,
            "temperature": cfg.temperature,
            "max_new_tokens": cfg.max_new_tokens,
            **generation,
        }
        settings = {k: v for k, v in settings.items() if v is not None}
        if not torch.isfinite(prefix).all():
            raise self.diverged("non-finite visual prefix from the Q-Former")
        with model.lm.disable_adapter():
            try:
                gen = model.lm.generate(
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
            ended.append(eos in seq)
            rows.append([tok.bos_token_id, *(seq[: seq.index(eos) + 1] if eos in seq else seq)])
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return ids.to(prefix.device), mask.to(prefix.device), ended

    def captions(self, ids: torch.Tensor) -> list[str]:
        """Caption texts of sampled ids, cleaned as the captioner backend cleans them."""
        from rewardkit.backends.blip2_captioner import clean_caption

        return [clean_caption(t) for t in self.tokenizer.batch_decode(ids[:, 1:], skip_special_tokens=True)]

    @torch.no_grad()
    def caption_images(self, images: Sequence[Any], *, chunk: int = 50, **generation: Any) -> list[str]:
        """One caption per image with ``generation`` over the sampling settings (e.g. beam search), ``chunk`` at a time."""
        caps: list[str] = []
        for i in range(0, len(images), chunk):
            embeds = self.model.image_embeds(self.pixel_values(images[i : i + chunk]))
            ids, _, _ = self.sample(embeds, 1, **generation)
            caps.extend(self.captions(ids))
        return caps

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

        per_image = self.config.samples_per_image
        keys = [i for i in range(len(caps) // per_image) for _ in range(per_image)]
        return score_components_grouped(self.reward, caps, keys, images=images, ended_with_eos=ended)

    def returns(
        self, ids: torch.Tensor, mask: torch.Tensor, ended: list[bool], images: list[Any]
    ) -> tuple[torch.Tensor, dict[str, list[float]]]:
        """Per-token returns ``[B, T]`` (VLRM Eq. 1) aligned with the log-probs, and every reward component per caption.

        The sequence score is the preset's weighted sum of its sequence components (a caption no
        component could score gets 0); the bad, repeat and no-EOS penalties are placed at their tokens
        with the preset's weights and lists.
        """
        from rewardkit.functional.returns import batch_token_returns_from_ids

        comps = self.score_components(self.captions(ids), images, ended)
        seq = [0.0 if math.isnan(x) else x for x in weighted_total(comps, self.seq_weights)]
        tok = self.tokenizer
        ret, tok_mask = batch_token_returns_from_ids(
            tok,
            ids[:, 1:],
            sim=seq,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            weights=self.token_weights,
            gamma=self.config.gamma,
            **self.penalty_options,
        )
        comps["sequence"] = seq
        comps["length"] = tok_mask.sum(-1).float().tolist()
        return ret, comps

    def collect(self, images: list[Any]) -> Experience:
        """Sample ``samples_per_image`` captions for each image and compute their returns."""
        n = self.config.samples_per_image
        with torch.no_grad():
            embeds = self.model.image_embeds(self.pixel_values(images))
        ids, mask, ended = self.sample(embeds, n)
        returns, comps = self.returns(ids, mask, ended, [im for im in images for _ in range(n)])
        return Experience(embeds.repeat_interleave(n, 0), ids, mask, returns, comps)

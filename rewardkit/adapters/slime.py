"""slime's custom reward model: ``async custom_rm(args, sample)`` and ``async batched_custom_rm(args, samples)``.

slime (``slime/rollout/rm_hub/__init__.py``, ``docs/en/get_started/customization.md``) awaits
the function named by ``--custom-rm-path``: per sample, or per group with ``--group-rm``. A
``Sample`` carries ``prompt`` (a string or messages), ``response`` (the generated text),
``label`` (a string or None), ``metadata`` (a dict) and ``multimodal_inputs`` (e.g.
``{"images": [PIL]}``). A reward is a float, or a dict from which ``--reward-key`` picks one.

Here the image and references come from the label (an image, or a JSON object string
``{"image", "references", "ended_with_eos"}``), else from ``metadata`` (``image``,
``references``) and ``multimodal_inputs["images"][0]``. With ``args.reward_key`` set the
reward is ``{"total": x, <component>: x, ...}``, else the total alone.
``--rm-type remote_rm --rm-url http://HOST:PORT/slime`` uses the service's ``/slime`` route,
which answers the dict (use ``--reward-key total``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rewardkit.adapters.backend import ask, label


def sample_label(sample: Any) -> str | None:
    """The label the service reads for a slime ``Sample``."""
    given = getattr(sample, "label", None)
    if isinstance(given, str) and given:
        return given
    meta = getattr(sample, "metadata", None) or {}
    image = meta.get("image")
    mm = getattr(sample, "multimodal_inputs", None) or {}
    if image is None and mm.get("images"):
        image = mm["images"][0]
    if image is None:
        return given
    return label(image, meta.get("references"), meta.get("ended_with_eos"))


def _reward(args: Any, total: Any, components: dict[str, Any]) -> Any:
    from rewardkit.client import number

    if getattr(args, "reward_key", None):
        return {"total": number(total), **{k: number(v) for k, v in components.items()}}
    return number(total)


def _options(args: Any) -> dict[str, Any]:
    return {
        "url": getattr(args, "rk_reward_url", None),
        "token": getattr(args, "rk_serve_token", None),
        "preset": getattr(args, "rk_preset", None),
    }


async def custom_rm(args: Any, sample: Any, **kwargs: Any) -> Any:
    """One sample's reward: the total, or every component with ``args.reward_key``."""
    payload = {
        "prompt": getattr(sample, "prompt", ""),
        "response": sample.response,
        "label": sample_label(sample),
    }
    answer = await asyncio.to_thread(ask, "slime", payload, **_options(args))
    total = answer.pop("total")
    return _reward(args, total, answer)


async def batched_custom_rm(args: Any, samples: Sequence[Any], **kwargs: Any) -> list[Any]:
    """The samples' rewards from one request (Φ over these samples)."""
    payload = {"query": [s.response for s in samples], "labels": [sample_label(s) for s in samples]}
    answer = await asyncio.to_thread(ask, "get_reward", payload, **_options(args))
    logs = answer["extra_logs"]
    return [_reward(args, t, {k: v[i] for k, v in logs.items()}) for i, t in enumerate(answer["rewards"])]

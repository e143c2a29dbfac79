"""OpenRLHF's reward function: ``reward_func(queries, prompts, labels, **kwargs)``.

OpenRLHF (``openrlhf/utils/agent.py``) loads ``reward_func`` from the ``.py`` file given as
``--reward.remote_url`` (formerly ``--remote_rm_url``) and calls it, in a thread, with lists:
``queries`` (prompt + response decoded with special tokens kept), ``prompts`` and ``labels``
(the dataset's label column). It takes ``{"rewards", "scores", "extra_logs"}`` back. Given
URLs instead of a file, it posts the same lists to ``/get_reward`` — the service's route.

Labels are the image (path or data URI) or a JSON object string ``{"image", "references",
"ended_with_eos", "eos"}``; ``eos`` is the end token's text (e.g. ``"<|im_end|>"``), cut from
the caption and read as ``ended_with_eos``. Φ is computed over the rows of one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardkit.adapters.backend import ask


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str] | None,
    labels: Sequence[str],
    *,
    url: str | None = None,
    token: str | None = None,
    preset: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``{"rewards": [total], "scores": [total], "extra_logs": {component: [...]}}``, as ``/get_reward`` answers."""
    payload: dict[str, Any] = {"query": list(queries), "labels": list(labels)}
    if prompts is not None:
        payload["prompts"] = list(prompts)
    return ask("get_reward", payload, url=url, token=token, preset=preset)

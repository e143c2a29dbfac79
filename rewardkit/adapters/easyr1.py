"""EasyR1's batch reward function: ``compute_score(reward_inputs, **reward_function_kwargs)``.

EasyR1 (``verl/workers/reward/function.py``) loads ``worker.reward.reward_function=FILE:NAME``,
reads ``REWARD_TYPE`` (``"batch"``) and calls the function with a list of ``{"response": str,
"response_length": int, "ground_truth": str}`` dicts (plus ``reward_function_kwargs``); it takes
one dict per input whose ``"overall"`` is the reward, every key being logged.

``ground_truth`` is the label: the image (path or data URI) or a JSON object string ``{"image",
"references", "ended_with_eos"}``. Φ is computed over the rows of one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewardkit.adapters.backend import ask
from rewardkit.errors import RewardkitError

REWARD_NAME = "rewardkit"
REWARD_TYPE = "batch"


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]],
    *,
    url: str | None = None,
    token: str | None = None,
    preset: str | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """``[{"overall": total, <component>: value, ...}]``, one per input."""
    from rewardkit.client import number

    if isinstance(reward_inputs, Mapping):
        raise TypeError("compute_score takes a list of reward inputs (REWARD_TYPE = 'batch')")
    reward_inputs = list(reward_inputs)
    for i, r in enumerate(reward_inputs):
        missing = [k for k in ("response", "ground_truth") if not isinstance(r, Mapping) or k not in r]
        if missing:
            raise RewardkitError(
                f"reward_inputs[{i}]: missing {', '.join(repr(k) for k in missing)} (EasyR1 passes "
                "{'response': caption, 'ground_truth': image path or JSON label, ...})"
            )
    payload = {
        "query": [r["response"] for r in reward_inputs],
        "labels": [r["ground_truth"] for r in reward_inputs],
    }
    answer = ask("get_reward", payload, url=url, token=token, preset=preset)
    logs = answer["extra_logs"]
    return [
        {"overall": number(t), **{k: number(v[i]) for k, v in logs.items()}}
        for i, t in enumerate(answer["rewards"])
    ]

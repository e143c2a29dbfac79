"""verl's custom reward function: ``compute_score(data_source, solution_str, ground_truth, extra_info)``.

verl (``verl/experimental/reward_loop/reward_manager/naive.py``) calls it once per response,
with keywords: ``data_source`` (str), ``solution_str`` (the decoded response, special tokens
skipped), ``ground_truth`` (the row's ``reward_model.ground_truth``), ``extra_info`` (the row's
``extra_info`` dict plus ``num_turns``, ``rollout_reward_scores``), and, with a reward router,
``reward_router_address`` and ``reward_model_tokenizer``; ``custom_reward_function.reward_kwargs``
are added as keywords. It awaits the function when it is a coroutine function, and takes a
float or a dict whose ``"score"`` is the reward (every other key is logged).

Here the image comes from ``extra_info["image"]`` (a path under the server's image root or a data
URI; ``extra_info["images"][0]`` also works), the references from ``extra_info["references"]``
(else ``ground_truth`` when it is a string or a list of strings), ``ended_with_eos`` from
``extra_info``. verl asks per response, so Φ (batch-dependent) is NaN here and the total skips it.

Configuration: ``custom_reward_function.path=$(python -c "import rewardkit.adapters.verl as m;
print(m.__file__)") custom_reward_function.name=compute_score`` (or ``compute_score_async``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from rewardkit.adapters.backend import ask


def _payload(solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    from rewardkit.client import image_value

    extra = dict(extra_info or {})
    body: dict[str, Any] = {"captions": [solution_str]}
    image = extra.get("image")
    if image is None and extra.get("images"):
        image = extra["images"][0]
    if image is not None:
        body["images"] = [image_value(image)]
    refs = extra.get("references")
    if refs is None and isinstance(ground_truth, str):
        refs = [ground_truth]
    elif (
        refs is None
        and isinstance(ground_truth, (list, tuple))
        and all(isinstance(r, str) for r in ground_truth)
    ):
        refs = list(ground_truth)
    if refs is not None:
        body["references"] = [[refs] if isinstance(refs, str) else [str(r) for r in refs]]
    if extra.get("ended_with_eos") is not None:
        body["ended_with_eos"] = [bool(extra["ended_with_eos"])]
    return body


def _result(answer: Mapping[str, Any]) -> dict[str, float]:
    from rewardkit.client import number

    out = {"score": number(answer["total"][0])}
    out.update({name: number(vals[0]) for name, vals in answer["components"].items()})
    return out


def compute_score(
    data_source: str | None = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    preset: str | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """``{"score": total, <component>: value, ...}`` for one verl response."""
    return _result(
        ask("score", _payload(solution_str, ground_truth, extra_info), url=url, token=token, preset=preset)
    )


async def compute_score_async(
    data_source: str | None = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    preset: str | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """:func:`compute_score` as a coroutine function (verl awaits it; the request runs in a thread)."""
    payload = _payload(solution_str, ground_truth, extra_info)
    answer = await asyncio.to_thread(ask, "score", payload, url=url, token=token, preset=preset)
    return _result(answer)

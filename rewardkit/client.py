"""A client of ``rewardkit serve``: ``post`` with fail-over, and :class:`RemoteReward`, a TRL reward function.

Nothing here loads a model or needs a package beyond the standard library: a CPU-only Ray
actor or a TRL process can ask a GPU-resident service for rewards. Several URLs
(comma-separated, or a list) are tried in turn when one cannot be reached or answers 5xx;
a 4xx answer is the request's fault and is raised at once with the server's one-line reason.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


class RemoteError(RewardkitError):
    """The service refused a request (4xx: the reason it gave) or no URL answered."""


def urls_from(url: str | Sequence[str] | None) -> list[str]:
    """Base URLs from a comma-separated string or a list; ``None`` reads ``RK_REWARD_URL``."""
    if url is None:
        url = os.environ.get("RK_REWARD_URL", "")
    parts = url.split(",") if isinstance(url, str) else list(url)
    urls = [u.strip().rstrip("/") for u in parts if u and u.strip()]
    if not urls:
        raise RemoteError(
            "no reward service URL: pass url= or set RK_REWARD_URL (comma-separated for fail-over)"
        )
    return urls


def post(
    url: str | Sequence[str] | None,
    path: str,
    payload: Any,
    *,
    token: str | None = None,
    timeout: float = 300.0,
) -> Any:
    """POST ``payload`` as JSON to ``path`` on the first URL that answers; the decoded JSON answer."""
    token = token if token is not None else (os.environ.get("RK_SERVE_TOKEN") or None)
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    problems = []
    for base in urls_from(url):
        request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            reason = _reason(exc)
            if exc.code < 500:
                raise RemoteError(f"{base}{path}: {exc.code} {reason}") from None
            problems.append(f"{base}: {exc.code} {reason}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            problems.append(f"{base}: {getattr(exc, 'reason', exc)}")
    raise RemoteError(f"no reward service answered {path}: " + "; ".join(problems))


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error", exc.reason))
    except Exception:
        return str(exc.reason)


def image_value(image: Any) -> str:
    """An image as the service takes it: a path string as given (resolved under the server's image root), or a PIL image as a PNG data URI."""
    if isinstance(image, Path):
        return str(image)
    if isinstance(image, str):
        return image
    if hasattr(image, "save"):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    raise TypeError(f"an image must be a path or a PIL image, not {type(image).__name__}")


def number(v: Any) -> float:
    """JSON null (NaN on the server) back to NaN."""
    return math.nan if v is None else float(v)


class RemoteReward:
    """A TRL reward function backed by ``rewardkit serve``: ``RemoteReward("http://host:8000", name="vlrm")``.

    Called as TRL calls reward functions (``prompts=, completions=, completion_ids=, **columns``),
    it takes the same keyword arguments as :func:`rewardkit.rewards.from_preset` callables and
    gives the same values; each component's mean goes to ``log_metric`` as ``<name>/<component>``.
    :meth:`as_async` gives the same function with an ``async`` ``__call__`` (TRL runs those
    concurrently). Picklable; it holds only the URL, the token and the options.

    >>> RemoteReward("http://127.0.0.1:8000", name="toy").__name__
    'toy'
    """

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        name: str = "reward",
        token: str | None = None,
        eos_token_id: int | Sequence[int] | None = None,
        tokenizer: Any = None,
        image_column: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        from rewardkit.rewards.inputs import eos_ids

        self.urls = urls_from(url)
        self.name = name
        self.token = token
        self.eos = eos_ids(eos_token_id, tokenizer)
        self.image_column = image_column
        self.timeout = timeout

    @property
    def __name__(self) -> str:  # TRL logs reward functions by __name__
        return self.name

    def payload(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The ``/v1/score`` request for one TRL call."""
        from rewardkit.rewards.inputs import completion_text, completions_list, reward_inputs

        captions = [completion_text(c) for c in completions_list(completions, self.name)]
        inputs = reward_inputs(kwargs, len(captions), eos=self.eos, image_column=self.image_column)
        body: dict[str, Any] = {"captions": captions}
        if inputs.get("images") is not None:
            body["images"] = [image_value(im) for im in inputs["images"]]
        if inputs.get("references") is not None:
            body["references"] = [list(r or []) for r in inputs["references"]]
        if inputs.get("ended_with_eos") is not None:
            body["ended_with_eos"] = [bool(e) for e in inputs["ended_with_eos"]]
        return body

    def score_components(self, body: dict[str, Any]) -> dict[str, list[float]]:
        """Every component's values and ``total`` for a ``/v1/score`` request."""
        answer = post(self.urls, "/v1/score", body, token=self.token, timeout=self.timeout)
        values = {k: [number(v) for v in vals] for k, vals in answer["components"].items()}
        values["total"] = [number(v) for v in answer["total"]]
        return values

    def _finish(self, values: dict[str, list[float]], kwargs: dict[str, Any]) -> list[float]:
        from rewardkit.functional.stats import nan_mean_std

        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for comp, vals in values.items():
                if comp == "total":
                    continue
                mean, _, n = nan_mean_std(vals)
                if n:
                    log_metric(f"{self.name}/{comp}", mean)
        return values["total"]

    def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        body = self.payload(completions, kwargs)  # type: ignore[arg-type]
        return self._finish(self.score_components(body), kwargs)

    async def acall(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        """The same call without blocking the event loop (the request runs in a worker thread)."""
        body = self.payload(completions, kwargs)  # type: ignore[arg-type]
        values = await asyncio.to_thread(self.score_components, body)
        return self._finish(values, kwargs)

    def as_async(self) -> AsyncRemoteReward:
        """This reward with an ``async`` ``__call__``."""
        return AsyncRemoteReward(self)

    def __repr__(self) -> str:
        return f"RemoteReward({','.join(self.urls)!r}, name={self.name!r})"


class AsyncRemoteReward:
    """:class:`RemoteReward` whose ``__call__`` is a coroutine function (what TRL runs with ``asyncio.gather``)."""

    def __init__(self, reward: RemoteReward) -> None:
        self.reward = reward

    @property
    def __name__(self) -> str:
        return self.reward.name

    async def __call__(
        self, prompts: Any = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        return await self.reward.acall(prompts, completions, **kwargs)

"""Where the adapters' rows are scored: a running service, or the same handler in this process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rewardkit.serving.http import ROUTE_PATHS

_LOCAL: dict[tuple[str, str], Any] = {}
_PATHS = {route: path for path, route in ROUTE_PATHS.items()}


def local_handler(preset: str, image_root: str | Path) -> Any:
    """The preset's handler in this process, models loaded once per (preset, image root)."""
    from rewardkit.serving.handler import RewardHandler

    key = (preset, str(Path(image_root).resolve()))
    handler = _LOCAL.get(key)
    if handler is None:
        handler = RewardHandler(preset, image_root=key[1], device=os.environ.get("RK_DEVICE", "auto"))
        handler.setup()
        _LOCAL[key] = handler
    return handler


def ask(
    route: str,
    payload: dict[str, Any],
    *,
    url: str | None = None,
    token: str | None = None,
    preset: str | None = None,
    image_root: str | None = None,
) -> Any:
    """The answer to one request on ``route`` (``score``, ``get_reward``, ``slime``), remote or local.

    ``url``/``token`` default to ``RK_REWARD_URL``/``RK_SERVE_TOKEN``; without a URL the request
    is answered in this process by ``preset`` (``RK_PRESET``, default ``toy``) with images under
    ``image_root`` (``RK_IMAGE_ROOT``, default the working folder). A refused request raises
    :class:`~rewardkit.serving.handler.BadRequest` (local) or :class:`~rewardkit.client.RemoteError`.
    """
    from rewardkit.client import post

    url = url or os.environ.get("RK_REWARD_URL") or None
    if url:
        return post(url, _PATHS[route], payload, token=token)
    from rewardkit.serving.handler import BadRequest

    handler = local_handler(
        preset or os.environ.get("RK_PRESET", "toy"),
        image_root or os.environ.get("RK_IMAGE_ROOT", os.getcwd()),
    )
    answer = handler.handle(route, payload)
    if answer.status != 200:
        raise BadRequest(answer.body.get("error", "bad request"))
    return answer.body


def label(image: Any = None, references: Any = None, ended_with_eos: Any = None) -> str:
    """A label string as the service reads it: the image alone, or a JSON object with the extras."""
    import json

    from rewardkit.client import image_value

    if image is not None:
        image = image_value(image)
    if references is None and ended_with_eos is None and isinstance(image, str):
        return image
    obj: dict[str, Any] = {"image": image}
    if references is not None:
        obj["references"] = [references] if isinstance(references, str) else list(references)
    if ended_with_eos is not None:
        obj["ended_with_eos"] = bool(ended_with_eos)
    return json.dumps(obj)

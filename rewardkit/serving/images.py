"""Images as the service receives them: a path under the image root or a ``data:image/...;base64,`` URI.

Read by the project's one image loader (:mod:`rewardkit.io.images`: EXIF orientation, bit depth,
transparency, shape caps), so the service sees every picture as ``rewardkit score`` does. On top of
the loader's confinement to the root, the service refuses ``..`` components outright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardkit.io.images import MAX_IMAGE_PIXELS, ImageError, load_image

__all__ = ["MAX_IMAGE_PIXELS", "ImageProblem", "request_image"]


class ImageProblem(ValueError):
    """Why one image cannot be used (the caller adds the row and field)."""


def request_image(value: Any, root: Path) -> tuple[Any, str]:
    """``(RGB image, cache key)`` for a path under ``root`` or a ``data:`` URI."""
    if not isinstance(value, str):
        raise ImageProblem(f"must be a path or a data URI string, not {type(value).__name__}")
    if value.startswith("data:"):
        head = value.partition(",")[0]
        if not head.startswith("data:image/") or not head.endswith(";base64"):
            raise ImageProblem("a data URI must look like data:image/png;base64,...")
    else:
        if not value:
            raise ImageProblem("empty path")
        if ".." in Path(value).parts:
            raise ImageProblem(f"path {value!r} contains '..'")
        if Path(value).is_absolute() and not Path(value).resolve().is_relative_to(Path(root).resolve()):
            raise ImageProblem(f"path {value!r} is outside the image root")
    try:
        loaded = load_image(value, root=root, name="")
    except ImageError as exc:  # a missing file is named as the client wrote it, not by its server path
        reason = exc.reason
        if reason.startswith("not found"):
            reason = f"{value!r} not found under the image root"
        elif "outside the image root" in reason:  # never show the server's own folders
            reason = f"path {value!r} is outside the image root"
        elif reason.startswith(
            "is "
        ):  # the loader words reasons after a name; here they follow "images[i]: "
            reason = reason[3:]
        raise ImageProblem(reason) from None
    return loaded.image, loaded.key

"""Images as the service receives them: a path under the image root or a ``data:image/...;base64,`` URI.

A stand-in until the project's one image loader (``rewardkit.io.images``) takes this over: the
service calls only :func:`request_image`, which returns the RGB picture and the content key of
its bytes (the same key ``rewardkit score`` gives the file, so embedding caches agree).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import stat
import warnings
from pathlib import Path
from typing import Any

MAX_IMAGE_PIXELS = 89_478_485  # Pillow's decompression-bomb limit, as for captions files


class ImageProblem(ValueError):
    """Why one image cannot be used (the caller adds the row and field)."""


def image_bytes(value: str, root: Path) -> bytes:
    """The encoded bytes behind ``value``: a data URI's payload, or a file confined to ``root``.

    ``..`` components and absolute paths outside ``root`` are refused, and so is a symlink that
    resolves outside it.
    """
    if value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
            raise ImageProblem("a data URI must look like data:image/png;base64,...")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ImageProblem("the data URI is not valid base64") from None
    if not value:
        raise ImageProblem("empty path")
    rel = Path(value)
    if ".." in rel.parts:
        raise ImageProblem(f"path {value!r} contains '..'")
    base = root.resolve()
    path = (base / rel).resolve()
    try:
        path.relative_to(base)
    except ValueError:
        raise ImageProblem(f"path {value!r} is outside the image root") from None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageProblem(f"{value!r} not found under the image root") from None
    except OSError as exc:
        raise ImageProblem(f"{value!r} cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise ImageProblem(f"{value!r} is not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageProblem(f"{value!r} cannot be read ({exc.strerror or exc})") from None


def decode_image(data: bytes) -> Any:
    """Encoded bytes to an RGB PIL image, refusing undecodable data and pictures over the pixel cap."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
        with im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageProblem(f"{w}x{h} pixels is over the cap of {MAX_IMAGE_PIXELS:,}")
            im.load()
            return im.convert("RGB")
    except ImageProblem:
        raise
    except Exception as exc:  # decoders raise many types; any of them means "not an image"
        raise ImageProblem(f"not a decodable image ({type(exc).__name__})") from None


def request_image(value: Any, root: Path) -> tuple[Any, str]:
    """``(RGB image, sha256 of its bytes)`` for a path under ``root`` or a data URI."""
    if not isinstance(value, str):
        raise ImageProblem(f"must be a path or a data URI string, not {type(value).__name__}")
    data = image_bytes(value, root)
    return decode_image(data), hashlib.sha256(data).hexdigest()

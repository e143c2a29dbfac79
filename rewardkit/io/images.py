"""The one image loader: every path that opens or receives an image gets the same upright 8-bit RGB picture.

How an image is read (the README's "How images are read" says the same):

1. A file (or ``bytes``, or a ``data:`` URI) is read once: its bytes are hashed for the cache key and
   decoded from memory. Multi-frame files (GIF, TIFF, WebP, APNG) give their first frame.
2. The EXIF orientation tag is applied first (``ImageOps.exif_transpose``), as every viewer and
   transformers' ``load_image`` do, to in-memory PIL images too.
3. Bit depth is scaled to 8 bits by the image's range: ``I;16*`` by 65535 -> 255; ``I`` (32-bit) by
   0..65535 when every value fits (how Pillow holds 16-bit PNG/TIFF), else by its own min..max;
   ``F`` (float) by 0..1 when every value fits, else by its own min..max; NaN or inf is refused.
4. Transparency -- an alpha channel (``RGBA``, ``LA``, ``PA``), a palette entry or a colour key marked
   transparent -- is composited on white, once, here, so every model sees the same picture (this is
   what transformers' processors do; open_clip's transforms would drop the alpha instead).
5. ``1`` (bilevel) becomes black/white, ``CMYK``/``YCbCr``/``LAB``/``HSV`` go through Pillow's conversion
   (embedded ICC profiles are not applied).
6. numpy arrays ``HxWxC`` (or ``HxW``) and torch tensors ``CxHxW`` (or ``HxW``) with C in 1, 3, 4 are
   accepted as ``uint8`` (0-255), ``bool`` or float (0-1); any other layout, dtype or range is refused
   naming the argument.
7. Caps, each the row's error (never the run's): :data:`MAX_IMAGE_BYTES` per file,
   :data:`MAX_IMAGE_PIXELS` per image, an aspect ratio up to :data:`MAX_ASPECT_RATIO`, and a model resize
   up to :data:`MAX_RESIZE_PIXELS` (:func:`check_resize`).

The cache key covers what the models see: for encoded input it hashes this loader's version, the
file's bytes and the reduced-scale decode factor (see :mod:`rewardkit.io.pipeline`); for a PIL image,
array or tensor it hashes the normalised RGB pixels, so a transparent twin never shares an opaque
picture's key unless they composite to the same pixels.

This module stays whole although it passes ~400 lines: about 80 of them are this specification,
and the rest is one pipeline (bytes -> caps -> decode -> upright 8-bit RGB -> key) whose steps share
the caps and the error type; every caller goes through :func:`load_image`.

>>> from PIL import Image
>>> im = load_image(Image.new("LA", (4, 2), (0, 0))).image  # fully transparent black -> white
>>> im.mode, im.getpixel((0, 0))
('RGB', (255, 255, 255))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from rewardkit.errors import RewardkitError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "DRAFT_MARGIN",
    "LOADER_VERSION",
    "MAX_ASPECT_RATIO",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_RESIZE_PIXELS",
    "ImageError",
    "LoadedImage",
    "array_to_image",
    "check_resize",
    "check_shape",
    "data_uri_bytes",
    "decode_bytes",
    "draft_scale",
    "file_key",
    "load_image",
    "load_images",
    "pixel_key",
    "read_image_file",
    "resolve_under",
    "to_rgb",
]

LOADER_VERSION = "rk-image-1"
"""Part of every cache key: bump it when the loader's output for the same input changes."""
MAX_IMAGE_PIXELS = 89_478_485
"""Pillow's decompression-bomb limit (a 0.25 GiB RGBA image): larger images are refused."""
MAX_IMAGE_BYTES = 1 << 30
"""Largest image file (or bytes, or decoded data: URI) read: 1 GiB."""
MAX_ASPECT_RATIO = 100.0
"""Longest side over shortest side: past 100:1 an image is refused (an 89,000x1 strip would need
a ~13 GB resize in a 224-px transform, and a model sees a sliver of it anyway)."""
MAX_RESIZE_PIXELS = 1 << 25
"""Largest intermediate a model's resize may make (shortest side to the model's size): 33.5 M pixels, ~100 MB RGB."""

DRAFT_MARGIN = 2.0
"""A JPEG is decoded at reduced scale only while its shortest side keeps this many times the model's size."""

_ORIENTATION = 0x0112
_HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")


class ImageError(RewardkitError):
    """An image that cannot be used: ``"{name} {reason}"`` in one line; ``reason`` alone for row messages."""

    def __init__(self, reason: str, name: str = "image") -> None:
        self.reason, self.name = reason, name
        super().__init__(f"{name} {reason}")


@dataclass(frozen=True)
class LoadedImage:
    """An image as the models see it: upright 8-bit ``RGB``, its cache key, and the reduced-decode factor."""

    image: Image.Image
    key: str
    scale: int = 1


def load_image(
    source: Any,
    *,
    root: str | Path | None = None,
    allow_outside_root: bool = False,
    name: str = "image",
    min_size: int | None = None,
) -> LoadedImage:
    """Load any image input as the normalised RGB picture and its cache key, or raise :class:`ImageError`.

    ``source``: a path (``str``/``Path``; under ``root`` when given), ``bytes``, a ``data:`` URI, a
    ``{"bytes": ..., "path": ...}`` mapping (an undecoded ``datasets.Image``), a PIL image, a numpy
    array (``HxWxC``) or a torch tensor (``CxHxW``). ``name`` is how messages refer to the argument.
    ``min_size``: the smallest side any model needs; a JPEG may then be decoded at a reduced scale
    (see :func:`draft_scale`). Never raises another error type for a bad image.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        rgb = to_rgb(source, name=name)
        return LoadedImage(rgb, pixel_key(rgb))
    if isinstance(source, str) and source.startswith("data:"):
        return decode_bytes(data_uri_bytes(source, name), name=name, min_size=min_size)
    if isinstance(source, (str, Path)):
        path = resolve_under(root, source, allow_outside_root=allow_outside_root, name=name)
        return decode_bytes(read_image_file(path, name=name), name=name, min_size=min_size)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(source), name=name, min_size=min_size)
    if isinstance(source, Mapping) and ("bytes" in source or "path" in source):
        if source.get("bytes"):
            return decode_bytes(bytes(source["bytes"]), name=name, min_size=min_size)
        if source.get("path"):
            return load_image(
                source["path"], root=root, allow_outside_root=allow_outside_root, name=name, min_size=min_size
            )
        raise ImageError("has neither 'bytes' nor 'path'", name)
    rgb = array_to_image(source, name=name)
    return LoadedImage(rgb, pixel_key(rgb))


def load_images(values: Any, *, name: str = "images", **kwargs: Any) -> list[LoadedImage]:
    """:func:`load_image` of every item of a list, each named ``name[i]`` in messages."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ImageError(f"must be a list of images, not {type(values).__name__}", name)
    return [load_image(v, name=f"{name}[{i}]", **kwargs) for i, v in enumerate(values)]


def resolve_under(
    root: str | Path | None, value: str | Path, *, allow_outside_root: bool = False, name: str = "image"
) -> Path:
    """``root / value`` resolved; outside ``root`` refused unless allowed. Without ``root``, ``value`` as given."""
    if root is None:
        return Path(value).expanduser()
    base = Path(root).resolve()
    path = (base / value).resolve()
    if not allow_outside_root and not path.is_relative_to(base):
        raise ImageError(f"path {str(value)!r} resolves outside the image root {str(root)!r}", name)
    return path


def read_image_file(path: str | Path, *, name: str = "image") -> bytes:
    """A regular file's bytes (one read), or :class:`ImageError`: missing, a directory, a FIFO/device, too large."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError(f"not found ({path})", name) from None
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})", name) from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError("is a directory", name)
    if not stat.S_ISREG(st.st_mode):
        raise ImageError("is not a regular file (a FIFO, socket or device)", name)
    if st.st_size > MAX_IMAGE_BYTES:
        raise ImageError(f"is a file of {st.st_size:,} bytes, over the cap of {MAX_IMAGE_BYTES:,}", name)
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})", name) from None


def data_uri_bytes(uri: str, name: str = "image") -> bytes:
    """The payload of a ``data:[<type>][;base64],<data>`` URI (RFC 2397)."""
    head, sep, payload = uri.partition(",")
    if not sep:
        raise ImageError("is a data: URI without a ',' before its data", name)
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ImageError(f"is a data: URI over the cap of {MAX_IMAGE_BYTES:,} bytes", name)
    if head.lower().endswith(";base64"):
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ImageError("is a data: URI with invalid base64", name) from None
    return unquote_to_bytes(payload)


def file_key(data: bytes, scale: int = 1) -> str:
    """Cache key of an encoded image: this loader's version, the bytes, and the reduced-decode factor."""
    h = hashlib.sha256(LOADER_VERSION.encode() + b"\0bytes\0")
    h.update(data)
    return h.hexdigest() + (f"@1/{scale}" if scale > 1 else "")


def pixel_key(image: Image.Image) -> str:
    """Cache key of a normalised RGB picture: this loader's version, its size and its pixels."""
    h = hashlib.sha256(f"{LOADER_VERSION}\0pixels\0{image.mode}\0{image.size}\0".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def check_shape(width: int, height: int, name: str = "image") -> None:
    """Refuse an image over the pixel cap or past the aspect-ratio cap (before it is decoded)."""
    if width < 1 or height < 1:
        raise ImageError(f"is {width}x{height}, an empty image", name)
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"is {width}x{height} = {width * height:,} pixels, over the cap of {MAX_IMAGE_PIXELS:,} "
            "(resize it first)",
            name,
        )
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT_RATIO:
        raise ImageError(
            f"is {width}x{height}, an aspect ratio of {ratio:,.0f}:1 past the cap of "
            f"{MAX_ASPECT_RATIO:.0f}:1 (crop or pad it first)",
            name,
        )


def check_resize(width: int, height: int, size: int, name: str = "image") -> None:
    """Refuse an image whose resize to a model's ``size`` (shortest side) would exceed :data:`MAX_RESIZE_PIXELS`."""
    short, long = min(width, height), max(width, height)
    need = size * math.ceil(size * long / short)
    if need > MAX_RESIZE_PIXELS:
        raise ImageError(
            f"is {width}x{height}: resizing its shortest side to the model's {size} px would make "
            f"{need:,} pixels, over the bound of {MAX_RESIZE_PIXELS:,} (crop it first)",
            name,
        )


def draft_scale(width: int, height: int, min_size: int, margin: float = DRAFT_MARGIN) -> int:
    """The largest JPEG reduced-decode factor (8, 4, 2, else 1) that keeps the shortest side ≥ ``margin·min_size``."""
    short = min(width, height)
    for s in (8, 4, 2):
        if short // s >= margin * min_size:
            return s
    return 1


def decode_bytes(data: bytes, *, name: str = "image", min_size: int | None = None) -> LoadedImage:
    """Decode an encoded image held in memory: caps checked before decoding, then :func:`to_rgb`."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"is {len(data):,} bytes, over the cap of {MAX_IMAGE_BYTES:,}", name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # check_shape says it instead
            im = Image.open(io.BytesIO(data))  # no file descriptor to close: the bytes are in memory
        check_shape(*im.size, name=name)
        scale = 1
        if min_size and im.format == "JPEG" and im.mode in ("RGB", "L"):
            want = draft_scale(*im.size, min_size)
            if want > 1:
                w, h = im.size
                im.draft(im.mode, (-(-w // want), -(-h // want)))
                scale = max(1, w // im.size[0])
        im.load()
        return LoadedImage(to_rgb(im, name=name), file_key(data, scale), scale)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("is not a readable image", name) from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"is over the cap of {MAX_IMAGE_PIXELS:,} pixels ({exc})", name) from None
    except MemoryError:
        raise ImageError("does not fit in memory", name) from None
    except Exception as exc:  # decoders raise many types; any of them is this image's error
        raise ImageError(f"is corrupt ({type(exc).__name__}: {exc})", name) from None


def to_rgb(image: Image.Image, *, name: str = "image") -> Image.Image:
    """The upright 8-bit RGB picture of a decoded PIL image (first frame, EXIF orientation, depth, transparency).

    An ``RGB`` image with nothing to apply is returned as is; otherwise a new image without metadata.
    """
    from PIL import Image, ImageOps

    im = image
    check_shape(*im.size, name=name)
    if getattr(im, "n_frames", 1) > 1 and im.tell() != 0:
        im.seek(0)
    orientation = _orientation(im)
    plain = im.mode == "RGB" and "transparency" not in im.info
    if plain and orientation in (None, 1):
        return im
    try:
        if orientation not in (None, 1):
            im = ImageOps.exif_transpose(im)
        if im.mode in _HIGH_DEPTH:
            im = _to_8bit(im, name)
        if im.mode in _ALPHA_MODES or "transparency" in im.info:
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, rgba)
        out = im.convert("RGB") if im.mode != "RGB" else im.copy()
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("does not fit in memory", name) from None
    except (ValueError, OSError) as exc:
        raise ImageError(f"has mode {image.mode!r}, which cannot be converted to RGB ({exc})", name) from None
    out.info = {}
    return out


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(_ORIENTATION)
    except Exception:  # a broken EXIF block is ignored, as viewers do
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _to_8bit(im: Image.Image, name: str) -> Image.Image:
    """``I;16*``/``I``/``F`` scaled to ``L`` by the range stated in the module docstring."""
    import numpy as np
    from PIL import Image

    a = np.asarray(im)
    if im.mode.startswith("I;16"):
        lo, hi = 0.0, 65535.0
    else:
        if im.mode == "F" and not np.isfinite(a).all():
            raise ImageError("is a float image with NaN or infinite pixels", name)
        amin, amax = float(a.min()), float(a.max())
        nominal = 65535.0 if im.mode == "I" else 1.0
        lo, hi = (0.0, nominal) if amin >= 0 and amax <= nominal else (amin, amax)
    if hi <= lo:
        out = np.full(a.shape, 0 if lo <= 0 else 255, dtype=np.uint8)
    else:
        out = np.rint((a.astype(np.float32) - lo) * np.float32(255.0 / (hi - lo))).clip(0, 255)
        out = out.astype(np.uint8)
    return Image.fromarray(out)


def array_to_image(value: Any, *, name: str = "image") -> Image.Image:
    """A numpy array (``HxWxC``/``HxW``) or torch tensor (``CxHxW``/``HxW``) as the normalised RGB picture."""
    import numpy as np
    from PIL import Image

    kind = type(value).__module__.split(".")[0]
    if kind == "torch":
        t = value.detach().cpu()
        if t.ndim == 3:
            if t.shape[0] not in (1, 3, 4):
                hint = " (an HxWxC tensor? use tensor.permute(2, 0, 1))" if t.shape[-1] in (1, 3, 4) else ""
                raise ImageError(
                    f"must be a CxHxW tensor with C in 1, 3, 4, not shape {tuple(t.shape)}{hint}", name
                )
            t = t.permute(1, 2, 0)
        elif t.ndim != 2:
            raise ImageError(
                f"must be a CxHxW (or HxW) tensor, not shape {tuple(t.shape)}"
                + (" (a batch? pass a list of images)" if t.ndim == 4 else ""),
                name,
            )
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        a = t.numpy()
        layout = "a tensor"
    elif isinstance(value, np.ndarray):
        a = value
        if a.ndim == 3 and a.shape[-1] not in (1, 3, 4):
            hint = " (a CxHxW array? use array.transpose(1, 2, 0))" if a.shape[0] in (1, 3, 4) else ""
            raise ImageError(f"must be an HxWxC array with C in 1, 3, 4, not shape {a.shape}{hint}", name)
        if a.ndim not in (2, 3):
            raise ImageError(f"must be an HxWxC (or HxW) array, not shape {a.shape}", name)
        layout = "an array"
    else:
        raise ImageError(
            "must be a path, bytes, a data: URI, a PIL image, a numpy array (HxWxC) or a torch tensor "
            f"(CxHxW), not {type(value).__name__}",
            name,
        )
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    check_shape(a.shape[1], a.shape[0], name=name)
    if a.dtype == np.uint8:
        u8 = a
    elif a.dtype == np.bool_:
        u8 = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError(f"is {layout} of floats with NaN or infinite values", name)
        amin, amax = float(a.min()), float(a.max())
        if amin < 0 or amax > 1:
            raise ImageError(
                f"is {layout} of floats in [{amin:g}, {amax:g}]; floats must lie in [0, 1] "
                "(give uint8 for 0-255)",
                name,
            )
        u8 = np.rint(a.astype(np.float32) * 255.0).astype(np.uint8)
    else:
        raise ImageError(f"is {layout} of {a.dtype}; give uint8 (0-255) or float (0-1)", name)
    return to_rgb(Image.fromarray(np.ascontiguousarray(u8)), name=name)  # L, RGB or RGBA by shape

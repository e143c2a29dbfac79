"""A row's image: whether its file can be read, what the loader reads for it, and its errors as the row's."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from rewardkit.scoring.formats import parquet_image_bytes
from rewardkit.scoring.row import Row, RowError


def check_image_file(image: Path) -> str | None:
    """Why ``image`` cannot be an image file (missing, a directory, a FIFO/socket/device), or ``None``."""
    try:
        mode = os.stat(image).st_mode
    except FileNotFoundError:
        return f"not found ({image}; image paths are relative to --image-root, by default the captions file's folder)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device)"
    return None


def image_source(row: Row) -> Any:
    """What the image loader reads for a row: its file, its inline bytes (Parquet), or ``None``."""
    if row.image is not None:
        return row.image
    if row.image_bytes is not None:
        return row.image_bytes
    if row.image_ref is not None:
        return parquet_image_bytes(*row.image_ref)
    return None


def load_row_image(row: Row, path: Path | str) -> Any:
    """The row's image as the models see it with its cache key (:class:`rewardkit.io.images.LoadedImage`),
    read once, or :class:`RowError` naming the row. The parallel pipeline uses the same loader."""
    from rewardkit.io.images import ImageError, load_image

    source = image_source(row)
    if source is None:
        raise row.error(path, "the row has no image")
    try:
        return load_image(source)
    except ImageError as exc:
        raise image_row_error(row, path, exc) from None


def load_image(row: Row, path: Path | str) -> Any:
    """The row's image as the models see it (RGB), or :class:`RowError` (see :func:`load_row_image`)."""
    return load_row_image(row, path).image


def image_row_error(row: Row, path: Path | str, exc: Any) -> RowError:
    """An image's error (:class:`rewardkit.io.images.ImageError`) as the row's: ``FILE:LINE (id): image 'x' reason``."""
    label = repr(row.image_text) if row.image_text is not None else "(inline bytes)"
    return row.error(path, f"image {label} {exc.reason}")

"""Argument checks at the Python API's boundary: lists of texts, per-caption columns, blank captions.

A ``str`` is itself a sequence of strings, so passed where a list of captions is expected it
would be scored character by character; iterators (generators) would be consumed by the first
component and leave the others nothing. Both are answered here, once, where the user's value
comes in.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import repeat
from typing import Any

from rewardkit.errors import ArgumentError


def text_list(
    value: Any, name: str, *, check_items: bool = True, what: str = "texts", hint: str | None = None
) -> list[str]:
    """``value`` as a list of strings: a list as is, another iterable read once; a lone string refused.

    ``check_items`` also refuses an item that is not a string, naming its index; ``what`` and
    ``hint`` word the one-line refusal.

    >>> text_list((c for c in ["a cat", "a dog"]), "captions")
    ['a cat', 'a dog']
    """
    if isinstance(value, (str, bytes)):
        raise ArgumentError(
            f"{name} must be a list of {what}, got a single {type(value).__name__} ({_preview(value)}); "
            + (hint or f"wrap it in a list: [{value!r}]" if len(value) <= 20 else hint or "wrap it in a list")
        )
    if value is None or not isinstance(value, Iterable):
        raise ArgumentError(f"{name} must be a list of {what}, got {type(value).__name__}")
    texts = value if type(value) is list else list(value)
    for i, text in enumerate(texts if check_items else ()):
        if not isinstance(text, str):
            raise ArgumentError(f"{name}[{i}] must be a string, got {type(text).__name__}")
    return texts


PER_CAPTION_COLUMNS = frozenset(
    {"images", "image", "image_keys", "ended_with_eos", "references", "completion_ids"}
)
"""Inputs that hold one value per caption: a lone string there is a mistake, not a column."""


def column_list(value: Any, name: str, *, column: str | None = None) -> Any:
    """An input read once: an iterator becomes a list; a lone string refused for a per-caption column."""
    if column in PER_CAPTION_COLUMNS:
        single = None
        if isinstance(value, (str, bytes)):
            single = f"{type(value).__name__} ({_preview(value)})"
        elif isinstance(value, os.PathLike):
            single = f"path ({_preview(os.fspath(value))})"
        elif hasattr(value, "getpixel") and hasattr(value, "convert"):  # one PIL image
            single = "image"
        if single is not None:
            raise ArgumentError(
                f"{name} must hold one value per caption, got a single {single}; wrap it in a list"
            )
    if isinstance(value, Iterator):
        return list(value)
    return value


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing to read: empty, whitespace, or only format characters (zero-width space, ...).

    >>> is_blank("\\u200b \\u2063"), is_blank(" a")
    (True, False)
    """
    for ch in text:  # stops at the first visible character: O(1) for a usual caption
        if not (ch.isspace() or unicodedata.category(ch) == "Cf"):
            return False
    return True


@lru_cache(maxsize=1)
def blank_characters() -> str:
    """Every whitespace and format (Cf) character; Unicode has them in planes 0, 1 and 14 only."""
    planes = [*range(0x20000), *range(0xE0000, 0xF0000)]
    return "".join(chr(i) for i in planes if chr(i).isspace() or unicodedata.category(chr(i)) == "Cf")


def blank_as_empty(captions: list[str]) -> list[str]:
    """``captions`` with every blank one (see :func:`is_blank`) replaced by ``""``.

    >>> blank_as_empty(["a cat", "\u200b", "  "])
    ['a cat', '', '']
    """
    blank = blank_characters()
    if all(map(str.strip, captions, repeat(blank))):  # C-speed check: none is blank
        return captions
    return [c if c.strip(blank) else "" for c in captions]


def _preview(value: str | bytes) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

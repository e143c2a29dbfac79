"""The items reward benchmarks are made of (:class:`Rated`, :class:`Pair`) and the checked readers of
their cells (paths kept under the data folder, numbers, fields), shared by every human-judgment loader."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


@dataclass
class Rated:
    """One candidate caption of an image with a human rating."""

    image: Any  # a Path under the data folder, or a PIL image (Polaris keeps images in its parquet)
    candidate: str
    references: list[str]
    human: float


@dataclass
class Pair:
    """Two captions of one image and which one people preferred."""

    image: Any
    a: str
    b: str
    references: list[str]
    prefer_a: bool
    category: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _under(root: Path, rel: str, where: str) -> Path:
    """``root / rel`` if it stays under ``root`` (resolved), else a one-line error naming ``where``."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise RewardkitError(f"{where}: image path {rel!r} leaves the data folder {root}")
    return path


def _image(root: Path, candidates: list[str], where: str) -> Path:
    """The first of ``candidates`` (paths relative to ``root``) that exists, else an error naming all."""
    paths = [_under(root, c, where) for c in candidates]
    for p in paths:
        if p.is_file():
            return p
    raise RewardkitError(f"{where}: image not found (looked for {', '.join(str(p) for p in paths)})")


def _json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise RewardkitError(f"{path}: no such file ({what}; see its data card for where to get it)")
    try:
        return json.loads(
            path.read_text(encoding="utf-8")
        )  # Python's json reads the NaN ratings these files hold
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RewardkitError(
            f"{path}: not a readable JSON file ({' '.join(str(exc).split())[:120]})"
        ) from None


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def _field(row: dict[str, Any], keys: tuple[str, ...], where: str) -> Any:
    for k in keys:
        if row.get(k) is not None:
            return row[k]
    raise RewardkitError(f"{where}: missing field {' / '.join(keys)} (has {', '.join(sorted(row))})")


def _score(value: Any, where: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise RewardkitError(f"{where}: human score {value!r} is not a number") from None
    if math.isnan(score):
        raise RewardkitError(f"{where}: human score is NaN")
    return score

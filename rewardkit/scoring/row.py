"""One captions row (:class:`Row`), its error (:class:`RowError`), its identity (key and digest) and its image."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

MAX_CAPTION_CHARS = 10_000
MAX_LINE_BYTES = 1 << 20
MAX_ID_CHARS = 1_000

FORMATS = ("jsonl", "jsonl.gz", "json", "coco", "csv", "tsv", "parquet")
KNOWN_KEYS = frozenset({"id", "caption", "image", "references", "style", "ended_with_eos"})
STDIN = "-"


class RowError(RewardkitError):
    """A bad input row: ``FILE:LINE: reason`` (``FILE[INDEX]`` / ``FILE (row group G, row R)`` for arrays / Parquet)."""

    def __init__(
        self, path: Path | str, line: int, reason: str, row_id: Any = None, *, where: str | None = None
    ) -> None:
        self.path, self.line, self.reason, self.row_id, self.where = str(path), line, reason, row_id, where
        self.duplicate = False  # a valid row whose id came before: it still takes its place in the batches
        place = f"{self.path}{where}" if where else f"{self.path}:{line}"
        super().__init__(place + (f" (id {row_id!r})" if row_id is not None else "") + f": {reason}")

    def record(self) -> dict[str, Any]:
        """The row of ``OUT.errors.jsonl``: ``line`` (the row's position), ``where`` for arrays and Parquet."""
        rec: dict[str, Any] = {"line": self.line, "id": self.row_id, "reason": self.reason}
        if self.where:
            rec["where"] = self.where.strip(" ()")
        return rec


def row_key(row_id: Any) -> str:
    """The identity of a row: its id as text, so ``1`` and ``"1"`` are the same id."""
    return row_id if isinstance(row_id, str) else str(row_id)


def key_digest(key: str) -> bytes:
    """8 bytes standing for a row key (in the resume fingerprints and the duplicate-id set)."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def _unicode_problem(value: Any) -> str | None:
    """Why a string cannot be written as UTF-8 (a lone surrogate), or ``None``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate U+{ord(value[exc.start]):04X} at character {exc.start}"
    return None


@dataclass
class Row:
    """One captions-file row, validated; ``image`` resolved under the image root.

    ``image_bytes`` holds an image given inline (a Parquet bytes column); ``image_ref`` says where
    to read it again (file, column, row group, row) once the bytes are dropped.
    """

    line: int
    id: Any
    caption: str
    image: Path | None = None
    image_text: str | None = None
    references: list[str] | None = None
    style: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    implicit_id: bool = False
    image_bytes: bytes | None = None
    image_ref: tuple[str, str, int, int] | None = None
    where: str | None = None
    fp: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """The row's identity (see :func:`row_key`)."""
        return row_key(self.id)

    @property
    def has_image(self) -> bool:
        """Whether the row names an image (a file or inline bytes)."""
        return self.image is not None or self.image_bytes is not None or self.image_ref is not None

    def fingerprint(self) -> str:
        """A hash of everything that decides this row's scores (caption, image, references, style, flags)."""
        return self.fingerprint_bytes().hex()

    def fingerprint_bytes(self) -> bytes:
        """:meth:`fingerprint` as 8 bytes (each field length-prefixed, so no two rows share a payload)."""
        if self.fp is not None:
            return self.fp
        if self.image is not None:
            image = str(self.image)
        elif self.image_bytes is not None:
            image = "sha256:" + hashlib.sha256(self.image_bytes).hexdigest()
        else:
            image = "\x00"
        refs = "\x00" if self.references is None else "".join(f"{len(r)}:{r}" for r in self.references)
        style = "\x00" if self.style is None else self.style
        eos = self.extra.get("ended_with_eos") if self.extra else None
        payload = f"{len(self.caption)}:{self.caption}{len(image)}:{image}{len(refs)}:{refs}{len(style)}:{style}{eos}"
        return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=8).digest()

    def error(self, path: Path | str, reason: str) -> RowError:
        """A :class:`RowError` at this row."""
        return RowError(path, self.line, reason, self.id, where=self.where)


def resolve_image(root: Path, value: str, *, allow_outside_root: bool = False) -> Path:
    """``root / value`` resolved; outside ``root`` is refused unless allowed."""
    path = (root / value).resolve()
    if not allow_outside_root:
        try:
            path.relative_to(root.resolve())
        except ValueError:
            raise ValueError(
                f"image path {value!r} resolves outside the image root {str(root)!r} "
                "(pass --allow-outside-root to permit it)"
            ) from None
    return path

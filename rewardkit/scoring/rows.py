"""Captions files: reading and validating JSONL rows, with every mistake named by ``FILE:LINE``."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.io.images import MAX_IMAGE_PIXELS  # noqa: F401  (the cap, re-exported where rows are read)

MAX_CAPTION_CHARS = 10_000
MAX_LINE_BYTES = 1 << 20
MAX_ID_CHARS = 1_000


class RowError(RewardkitError):
    """A bad input row: ``FILE:LINE: reason``."""

    def __init__(self, path: Path | str, line: int, reason: str, row_id: Any = None) -> None:
        self.path, self.line, self.reason, self.row_id = str(path), line, reason, row_id
        where = f"{self.path}:{line}" + (f" (id {row_id!r})" if row_id is not None else "")
        super().__init__(f"{where}: {reason}")

    def record(self) -> dict[str, Any]:
        """The row of ``OUT.errors.jsonl``."""
        return {"line": self.line, "id": self.row_id, "reason": self.reason}


def row_key(row_id: Any) -> str:
    """The identity of a row: its id as text, so ``1`` and ``"1"`` are the same id."""
    return row_id if isinstance(row_id, str) else str(row_id)


def _unicode_problem(value: Any) -> str | None:
    """Why a string cannot be written as UTF-8 (a lone surrogate), or ``None``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate U+{ord(value[exc.start]):04X} at character {exc.start}"
    return None


@dataclass
class Row:
    """One captions-file row, validated; ``image`` resolved under the image root."""

    line: int
    id: Any
    caption: str
    image: Path | None = None
    image_text: str | None = None
    references: list[str] | None = None
    style: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    implicit_id: bool = False

    @property
    def key(self) -> str:
        """The row's identity (see :func:`row_key`)."""
        return row_key(self.id)

    def fingerprint(self) -> str:
        """A hash of everything that decides this row's scores (caption, image, references, style, flags)."""
        import hashlib

        payload = json.dumps(
            [
                self.caption,
                str(self.image) if self.image else None,
                self.references,
                self.style,
                self.extra.get("ended_with_eos"),
            ],
            ensure_ascii=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


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


def _decode_lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, error)`` for every non-blank line; a BOM and CRLF are accepted."""
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield n, None, f"not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})"
                continue
            text = text.rstrip("\r\n")
            if text.strip():
                yield n, text, None


def parse_row(
    path: Path, n: int, text: str, image_root: Path, *, needs_image: bool, allow_outside_root: bool
) -> Row:
    """One JSONL line as a :class:`Row`, or :class:`RowError` saying what is wrong (never another error)."""
    try:
        return _parse_row(
            path, n, text, image_root, needs_image=needs_image, allow_outside_root=allow_outside_root
        )
    except RowError:
        raise
    except RecursionError:
        raise RowError(path, n, "malformed JSON (nested too deeply)") from None
    except Exception as exc:  # any other failure on one row is that row's error, never the run's
        raise RowError(path, n, f"unreadable row ({type(exc).__name__}: {str(exc)[:200]})") from None


def _parse_row(
    path: Path, n: int, text: str, image_root: Path, *, needs_image: bool, allow_outside_root: bool
) -> Row:
    if len(text) > MAX_LINE_BYTES:
        raise RowError(path, n, f"line of {len(text):,} characters (limit {MAX_LINE_BYTES:,})")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(path, n, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise RowError(path, n, f"malformed JSON ({str(exc).split(';')[0]})") from None
    if not isinstance(obj, dict):
        raise RowError(path, n, f"a row must be a JSON object, not {type(obj).__name__}")
    implicit = "id" not in obj
    row_id = obj.get("id", n)
    if not isinstance(row_id, (str, int)) or isinstance(row_id, bool):
        raise RowError(path, n, f"'id' must be a string or an integer, not {type(row_id).__name__}")
    if isinstance(row_id, str):
        if not row_id:
            raise RowError(path, n, "'id' must not be empty")
        if len(row_id) > MAX_ID_CHARS:
            raise RowError(path, n, f"'id' of {len(row_id):,} characters (limit {MAX_ID_CHARS:,})")
        problem = _unicode_problem(row_id)
        if problem:
            raise RowError(path, n, f"'id' is not valid Unicode ({problem})")
    elif abs(row_id) >= 10**18:
        raise RowError(path, n, "'id' integer too large (use a string id)")
    for key in ("caption", "image", "style"):
        value = obj.get(key)
        if isinstance(value, str) and _unicode_problem(value):
            raise RowError(path, n, f"{key!r} is not valid Unicode ({_unicode_problem(value)})", row_id)
    for ref in obj.get("references") or [] if isinstance(obj.get("references"), list) else []:
        if isinstance(ref, str) and _unicode_problem(ref):
            raise RowError(path, n, f"a reference is not valid Unicode ({_unicode_problem(ref)})", row_id)
    caption = obj.get("caption")
    if caption is None:
        raise RowError(path, n, "missing 'caption'", row_id)
    if not isinstance(caption, str):
        raise RowError(path, n, f"'caption' must be a string, not {type(caption).__name__}", row_id)
    if len(caption) > MAX_CAPTION_CHARS:
        raise RowError(
            path, n, f"caption of {len(caption):,} characters (limit {MAX_CAPTION_CHARS:,})", row_id
        )
    refs = obj.get("references")
    if refs is not None and (not isinstance(refs, list) or not all(isinstance(r, str) for r in refs)):
        raise RowError(path, n, "'references' must be a list of strings", row_id)
    style = obj.get("style")
    if style is not None and not isinstance(style, str):
        raise RowError(path, n, "'style' must be a string", row_id)
    image = obj.get("image")
    resolved = None
    if image is None:
        if needs_image:
            raise RowError(path, n, "missing 'image' (these rewards need the image)", row_id)
    elif not isinstance(image, str) or not image:
        raise RowError(path, n, "'image' must be a non-empty path string", row_id)
    else:
        try:
            resolved = resolve_image(image_root, image, allow_outside_root=allow_outside_root)
        except ValueError as exc:
            raise RowError(path, n, str(exc), row_id) from None
    extra = {k: v for k, v in obj.items() if k not in {"id", "caption", "image", "references", "style"}}
    if "ended_with_eos" in extra and not isinstance(extra["ended_with_eos"], bool):
        raise RowError(path, n, "'ended_with_eos' must be true or false", row_id)
    return Row(n, row_id, caption, resolved, image, refs, style, extra, implicit)


def read_rows(
    path: str | Path,
    *,
    image_root: str | Path | None = None,
    needs_image: bool = True,
    allow_outside_root: bool = False,
) -> tuple[list[Row], list[RowError]]:
    """Every row of a captions file and every bad row (duplicates of an id are bad rows too)."""
    path = Path(path)
    if not path.exists():
        raise RewardkitError(f"{path}: no such file")
    if path.is_dir():
        raise RewardkitError(f"{path}: is a directory, expected a .jsonl file")
    if not path.is_file():
        raise RewardkitError(f"{path}: not a regular file (a FIFO or device cannot be read twice)")
    root = Path(image_root) if image_root is not None else path.parent
    if not root.is_dir():
        raise RewardkitError(f"image root {str(root)!r} is not a directory")
    rows: list[Row] = []
    errors: list[RowError] = []
    seen: dict[str, Row] = {}
    try:
        lines = list(_decode_lines(path))
    except OSError as exc:
        raise RewardkitError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for n, text, problem in lines:
        if problem is not None:
            errors.append(RowError(path, n, problem))
            continue
        try:
            row = parse_row(
                path, n, text, root, needs_image=needs_image, allow_outside_root=allow_outside_root
            )
        except RowError as exc:
            errors.append(exc)
            continue
        first = seen.get(row.key)
        if first is not None:
            errors.append(RowError(path, n, _duplicate_reason(row, first), row.id))
            continue
        seen[row.key] = row
        rows.append(row)
    if not rows and not errors:
        raise RewardkitError(f"{path}: empty file, no rows to score")
    return rows, errors


def _duplicate_reason(row: Row, first: Row) -> str:
    """The duplicate-id message, true also when a row without id is keyed by its line number."""
    if first.implicit_id:
        return (
            f"duplicate id {row.key!r}: line {first.line} has no id and is keyed by its line number; "
            "give every row an id, or none"
        )
    if row.implicit_id:
        return (
            f"this row has no id and is keyed by its line number {row.key}, which line {first.line} "
            "uses as its id; give every row an id, or none"
        )
    same = "" if type(first.id) is type(row.id) else ' (ids compare as text: 1 and "1" are one id)'
    return f"duplicate id (first on line {first.line}){same}"


def check_image_file(image: Path) -> str | None:
    """Why ``image`` cannot be an image file (missing, a directory, a FIFO/socket/device), or ``None``."""
    try:
        mode = os.stat(image).st_mode
    except FileNotFoundError:
        return f"not found ({image})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device)"
    return None


def load_image(row: Row, path: Path | str) -> Any:
    """The row's image as the models see it (:mod:`rewardkit.io.images`), or :class:`RowError` naming the row."""
    from rewardkit.io.images import ImageError
    from rewardkit.io.images import load_image as load

    assert row.image is not None
    try:
        return load(row.image).image
    except ImageError as exc:
        raise image_row_error(row, path, exc) from None


def image_row_error(row: Row, path: Path | str, exc: Any) -> RowError:
    """An image's error (:class:`rewardkit.io.images.ImageError`) as the row's: ``FILE:LINE (id): image 'x' reason``."""
    return RowError(path, row.line, f"image {row.image_text!r} {exc.reason}", row.id)

"""Captions files: reading and validating JSONL rows, with every mistake named by ``FILE:LINE``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

MAX_CAPTION_CHARS = 10_000


class RowError(RewardkitError):
    """A bad input row: ``FILE:LINE: reason``."""

    def __init__(self, path: Path | str, line: int, reason: str, row_id: Any = None) -> None:
        self.path, self.line, self.reason, self.row_id = str(path), line, reason, row_id
        where = f"{self.path}:{line}" + (f" (id {row_id!r})" if row_id is not None else "")
        super().__init__(f"{where}: {reason}")

    def record(self) -> dict[str, Any]:
        """The row of ``OUT.errors.jsonl``."""
        return {"line": self.line, "id": self.row_id, "reason": self.reason}


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
    """One JSONL line as a :class:`Row`, or :class:`RowError` saying what is wrong."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(path, n, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise RowError(path, n, f"a row must be a JSON object, not {type(obj).__name__}")
    row_id = obj.get("id", n)
    if not isinstance(row_id, (str, int)) or isinstance(row_id, bool):
        raise RowError(path, n, f"'id' must be a string or an integer, not {type(row_id).__name__}")
    caption = obj.get("caption")
    if caption is None:
        raise RowError(path, n, "missing 'caption'", row_id)
    if not isinstance(caption, str):
        raise RowError(path, n, f"'caption' must be a string, not {type(caption).__name__}", row_id)
    if not caption.strip():
        raise RowError(path, n, "empty caption", row_id)
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
    return Row(n, row_id, caption, resolved, image, refs, style, extra)


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
    root = Path(image_root) if image_root is not None else path.parent
    if not root.is_dir():
        raise RewardkitError(f"image root {str(root)!r} is not a directory")
    rows: list[Row] = []
    errors: list[RowError] = []
    seen: dict[Any, int] = {}
    for n, text, problem in _decode_lines(path):
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
        if row.id in seen:
            errors.append(RowError(path, n, f"duplicate id (first on line {seen[row.id]})", row.id))
            continue
        seen[row.id] = n
        rows.append(row)
    if not rows and not errors:
        raise RewardkitError(f"{path}: empty file, no rows to score")
    return rows, errors


def load_image(row: Row, path: Path | str) -> Any:
    """The row's image as RGB, or :class:`RowError` (missing, a directory, unreadable, corrupt)."""
    from PIL import Image, UnidentifiedImageError

    assert row.image is not None
    if not row.image.exists():
        raise RowError(path, row.line, f"image {row.image_text!r} not found ({row.image})", row.id)
    if row.image.is_dir():
        raise RowError(path, row.line, f"image {row.image_text!r} is a directory", row.id)
    try:
        with Image.open(row.image) as im:
            im.load()
            return im.convert("RGB")
    except UnidentifiedImageError:
        raise RowError(path, row.line, f"image {row.image_text!r} is not a readable image", row.id) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise RowError(path, row.line, f"image {row.image_text!r} is corrupt ({exc})", row.id) from None

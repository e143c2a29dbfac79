"""Captions files in every format captioners write, read as one stream of validated rows.

Formats (detected by extension, ``format=`` overrides): JSONL (``.jsonl``), gzip-compressed JSONL
(``.jsonl.gz``), a JSON array (``.json``), COCO results (a JSON array of ``{"image_id", "caption"}``,
with ``annotations=`` a COCO ``captions_*.json`` for file names and references), CSV/TSV with a
header (``.csv``/``.tsv``), Parquet (``.parquet``, an image path or image-bytes column) and ``-``
for standard input. Every row goes through the same validation; every mistake is a
:class:`RowError` naming the file and the row (``FILE:LINE`` for text formats, ``FILE[INDEX]``
for arrays, ``FILE (row group G, row R)`` for Parquet). Rows are yielded as they are read, so
memory does not grow with the file (duplicate ids are found through a set of 8-byte digests).

The row itself is :mod:`rewardkit.scoring.row`, the format readers :mod:`rewardkit.scoring.formats`,
the duplicate-id sets :mod:`rewardkit.scoring.keysets`. This module is one class, the reader, and
stays over ~400 lines on purpose: its validation of one row (every field, in every format, with
the place of each mistake) reads best as one piece.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.io.images import MAX_IMAGE_PIXELS  # noqa: F401  (the cap, re-exported where rows are read)
from rewardkit.scoring.formats import (
    CocoAnnotations,
    _array_items,
    _csv_items,
    _csv_value,
    _line_items,
    _number_index,
    _open_binary,
    _parquet_items,
    _peek_first_char,
    check_source,
    detect_format,
)
from rewardkit.scoring.keysets import BloomFilter, KeySet
from rewardkit.scoring.row import (
    FORMATS,
    KNOWN_KEYS,
    MAX_CAPTION_CHARS,
    MAX_ID_CHARS,
    STDIN,
    Row,
    RowError,
    _unicode_problem,
    key_digest,
    resolve_image,
    row_key,
)
from rewardkit.scoring.row_images import (
    check_image_file,
    image_row_error,
    image_source,
    load_image,
    load_row_image,
)

__all__ = [  # the reader, and what callers import from here: the row, its errors and images
    "FORMATS",
    "STDIN",
    "BloomFilter",
    "CocoAnnotations",
    "KeySet",
    "Row",
    "RowError",
    "RowReader",
    "image_row_error",
    "image_source",
    "key_digest",
    "load_image",
    "load_row_image",
    "parse_row",
    "read_rows",
    "row_key",
]


_IMAGE_ALIASES = ("file_name", "filename", "image_path", "img_path", "path", "img", "image_file", "url")
_CAPTION_ALIASES = ("text", "prediction", "pred", "generated", "output", "sentence", "caption_text", "answer")


def _unknown_hint(obj: dict[str, Any], aliases: tuple[str, ...], key: str, flag: str) -> str:
    """``; the row has 'file_name': rename it to 'image' or pass --image-column file_name`` when it applies."""
    unknown = [k for k in obj if k not in KNOWN_KEYS and k != "image_id"]
    if not unknown:
        return ""
    likely = [k for k in unknown if k.lower() in aliases] or unknown
    name = likely[0]
    return f"; the row has {name!r}, which is not read: rename it to {key!r} or pass {flag} {name}"


class RowReader:
    """Iterate a captions file as validated :class:`Row` objects and :class:`RowError` for bad rows, in order.

    ``check_images`` also refuses, as that row's error, an image file that is missing or not a
    regular file (a ``stat``, no decoding), so such mistakes are found before any model loads.

    Duplicate ids: ``dedupe="exact"`` keeps a :class:`KeySet` (16 bytes a row);
    ``dedupe="bloom"`` keeps a :class:`BloomFilter` (~1.5 bytes a row) and leaves duplicates to
    :meth:`duplicates` (one more read of the suspects); ``known_duplicates`` (set after such a
    check pass) decides them with no memory per row.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        image_root: str | Path | None = None,
        needs_image: bool = True,
        allow_outside_root: bool = False,
        check_images: bool = False,
        annotations: str | Path | CocoAnnotations | None = None,
        image_column: str = "image",
        caption_column: str = "caption",
        dedupe: str = "exact",
    ) -> None:
        self.stdin = str(path) == STDIN
        self.path: Path | str = STDIN if self.stdin else Path(path)
        self.format = detect_format(path, format)
        check_source(self.path, self.format)
        if image_root is not None:
            root = Path(image_root)
        else:
            root = Path.cwd() if self.stdin else Path(self.path).parent
        if not root.is_dir():
            raise RewardkitError(f"image root {str(root)!r} is not a directory")
        self.root = root
        self.needs_image = needs_image
        self.allow_outside_root = allow_outside_root
        self.check_images = check_images
        if isinstance(annotations, CocoAnnotations) or annotations is None:
            self.annotations = annotations
        else:
            self.annotations = CocoAnnotations(annotations)
        self.image_column = image_column
        self.caption_column = caption_column
        self.unknown_keys: dict[str, int] = {}
        self._numbers: dict[int, list[str]] | None = None
        self.dedupe = dedupe
        self.known_duplicates: dict[bytes, int] | None = None

    def __iter__(self) -> Iterator[Row | RowError]:
        bloom = self.dedupe == "bloom"
        known = self.known_duplicates
        if bloom:
            seen: Any = BloomFilter(self._expected_rows())
            self.seen = seen
            self.suspects = set()
        elif known is None:
            seen = KeySet()
            self.seen = seen
        digest = self.digest = hashlib.blake2b(digest_size=16)
        for row in self._valid_or_errors():
            if isinstance(row, RowError):
                digest.update(b"E%d;" % row.line)
                yield row
                continue
            row.fp = row.fingerprint_bytes()
            digest.update(row.fp)
            kd = key_digest(row.key)
            if bloom:
                if seen.add(kd):
                    self.suspects.add(kd)  # maybe seen before: settled by :meth:`duplicates`
                yield row
                continue
            if known is not None:
                first = known.get(kd)
                if first is not None and first // 4 != row.line:
                    yield self._dup_error(row, first)
                    continue
                yield row
                continue
            value = row.line * 4 + (2 if row.implicit_id else 0) + (1 if isinstance(row.id, str) else 0)
            first = seen.add(kd, value)
            if first is not None:
                yield self._dup_error(row, first)
                continue
            yield row

    def _dup_error(self, row: Row, first: int) -> RowError:
        exc = row.error(self.path, self._duplicate_reason(row, first))
        exc.duplicate = True
        return exc

    def _valid_or_errors(self) -> Iterator[Row | RowError]:
        path = self.path
        for pos, where, obj, problem, careful in self._items():
            if problem is not None:
                yield RowError(path, pos, problem, where=where)
                continue
            try:
                yield self._row(obj, pos, where, careful)
            except RowError as exc:
                yield exc
            except RecursionError:
                yield RowError(path, pos, "malformed JSON (nested too deeply)", where=where)
            except Exception as exc:  # any other failure on one row is that row's error, never the run's
                yield RowError(
                    path, pos, f"unreadable row ({type(exc).__name__}: {str(exc)[:200]})", where=where
                )

    def duplicates(self, upto: int | None = None) -> tuple[dict[bytes, int], list[RowError]]:
        """After a ``dedupe="bloom"`` pass: the exact duplicates among the suspects, by one more read of the file.

        Returns the first occurrence of every duplicated key (for ``known_duplicates``) and the
        duplicate rows' errors in file order (only rows before position ``upto`` when given).
        """
        suspects = getattr(self, "suspects", set())
        first: dict[bytes, int] = {}
        errors: list[RowError] = []
        if not suspects:
            return first, errors
        for pos, where, obj, problem, careful in self._items():
            if upto is not None and pos >= upto:
                break
            if problem is not None or not isinstance(obj, dict):
                continue
            rid = obj.get("id", obj["image_id"] if "image" not in obj and "image_id" in obj else pos)
            if not isinstance(rid, (str, int)) or isinstance(rid, bool):
                continue
            kd = key_digest(row_key(rid))
            if kd not in suspects:
                continue  # only the suspects are validated again
            try:
                row = self._row(obj, pos, where, careful)
            except Exception:  # a bad row took no place among the ids
                continue
            if key_digest(row.key) != kd:
                continue
            value = row.line * 4 + (2 if row.implicit_id else 0) + (1 if isinstance(row.id, str) else 0)
            if kd in first:
                errors.append(self._dup_error(row, first[kd]))
            else:
                first[kd] = value
        dup_keys = {key_digest(e.row_id if isinstance(e.row_id, str) else str(e.row_id)) for e in errors}
        return {k: v for k, v in first.items() if k in dup_keys}, errors

    def _expected_rows(self) -> int:
        """A generous guess of the row count from the file size (the Bloom filter grows past it anyway)."""
        try:
            return max(1 << 12, os.path.getsize(self.path) // 48) if not self.stdin else 1 << 16
        except OSError:
            return 1 << 16

    def _place(self, pos: int) -> str:
        if self.format in ("json", "coco"):
            return f"element [{pos}]"
        if self.format == "parquet":
            return f"row {pos}"
        return f"line {pos}"

    def _pos_word(self) -> str:
        return {"json": "index", "coco": "index", "parquet": "row number"}.get(self.format, "line number")

    def _duplicate_reason(self, row: Row, first: int) -> str:
        """The duplicate-id message, true also when a row without id is keyed by its position."""
        first_pos, first_implicit, first_str = first // 4, bool(first & 2), bool(first & 1)
        if first_implicit:
            return (
                f"duplicate id {row.key!r}: {self._place(first_pos)} has no id and is keyed by its {self._pos_word()}; "
                "give every row an id, or none"
            )
        if row.implicit_id:
            return (
                f"this row has no id and is keyed by its {self._pos_word()} {row.key}, which {self._place(first_pos)} "
                "uses as its id; give every row an id, or none"
            )
        same = "" if first_str == isinstance(row.id, str) else ' (ids compare as text: 1 and "1" are one id)'
        return f"duplicate id (first on {self._place(first_pos)}){same}"

    def _items(self) -> Iterator[tuple[int, str | None, Any, str | None, bool]]:
        fmt, path = self.format, self.path
        required = [(self.caption_column, "--caption-column")]
        if self.needs_image:
            required.append((self.image_column, "--image-column"))
        if fmt == "parquet":
            yield from _parquet_items(path, required)
            return
        if fmt in ("json", "coco") and not self.stdin and _peek_first_char(path) == "{":
            fmt = "jsonl"  # one object per line in a .json file
        fh = _open_binary(path)
        try:
            if fmt == "jsonl.gz":
                fh = gzip.GzipFile(fileobj=fh, mode="rb")
            if fmt in ("jsonl", "jsonl.gz"):
                yield from _line_items(fh, path)
            elif fmt in ("json", "coco"):
                yield from _array_items(fh, path)
            else:
                yield from _csv_items(fh, path, "," if fmt == "csv" else "\t", required)
        finally:
            if not self.stdin:
                fh.close()

    def _coco_image(self, obj: dict[str, Any], pos: int, where: str | None) -> dict[str, Any]:
        """A COCO results element as a row: id from ``image_id``, image from the annotations or the folder."""
        image_id = obj["image_id"]
        if not isinstance(image_id, (str, int)) or isinstance(image_id, bool):
            raise RowError(self.path, pos, "'image_id' must be an integer or a string", where=where)
        key = row_key(image_id)
        out = dict(obj)
        out.setdefault("id", image_id)
        if self.annotations is not None:
            name = self.annotations.files.get(key)
            if name is None and self.annotations.files:
                raise RowError(
                    self.path,
                    pos,
                    f"image_id {image_id!r} is not among the images of {self.annotations.path}",
                    out["id"],
                    where=where,
                )
            if "references" not in out and key in self.annotations.refs:
                out["references"] = self.annotations.refs[key]
        else:
            name = None
        if name is None and self.needs_image:
            if self._numbers is None:
                self._numbers = _number_index(self.root)
            try:
                matches = self._numbers.get(int(image_id), [])
            except ValueError:
                matches = []
            if len(matches) != 1:
                found = (
                    "no file" if not matches else f"{len(matches)} files ({', '.join(sorted(matches)[:3])})"
                )
                raise RowError(
                    self.path,
                    pos,
                    f"image_id {image_id!r}: {found} in {self.root} named by that number; "
                    "pass --annotations captions_*.json for the file names, or --images DIR",
                    out["id"],
                    where=where,
                )
            name = matches[0]
        if name is not None:
            out["image"] = name
        return out

    def _row(self, obj: Any, pos: int, where: str | None, careful: bool = True) -> Row:
        path = self.path
        if not isinstance(obj, dict):
            hint = ""
            if isinstance(obj, list) and self.format in ("jsonl", "jsonl.gz"):
                hint = " (a JSON array? name the file .json or pass --format json)"
            raise RowError(
                path, pos, f"a row must be a JSON object, not {type(obj).__name__}{hint}", where=where
            )
        if self.caption_column != "caption" and self.caption_column in obj:
            obj = dict(obj)
            obj["caption"] = obj.pop(self.caption_column)
        if self.image_column != "image" and self.image_column in obj:
            obj = dict(obj)
            obj["image"] = obj.pop(self.image_column)
        if self.format in ("csv", "tsv"):
            obj = {k: _csv_value(k, v) for k, v in obj.items()}
        if "image" not in obj and "image_id" in obj:
            obj = self._coco_image(obj, pos, where)
        for k in obj:
            if k not in KNOWN_KEYS and k != "image_id" and len(self.unknown_keys) < 20:
                self.unknown_keys.setdefault(str(k), pos)
        return self._validate(obj, pos, where, careful)

    def _validate(self, obj: dict[str, Any], n: int, where: str | None, careful: bool = True) -> Row:
        """``careful``: the row may hold lone surrogates (its JSON has ``\\u`` escapes); else that check is skipped."""
        path = self.path

        def err(reason: str, row_id: Any = None) -> RowError:
            return RowError(path, n, reason, row_id, where=where)

        implicit = "id" not in obj
        row_id = obj.get("id", n)
        if not isinstance(row_id, (str, int)) or isinstance(row_id, bool):
            raise err(f"'id' must be a string or an integer, not {type(row_id).__name__}")
        if isinstance(row_id, str):
            if not row_id:
                raise err("'id' must not be empty")
            if len(row_id) > MAX_ID_CHARS:
                raise err(f"'id' of {len(row_id):,} characters (limit {MAX_ID_CHARS:,})")
            problem = _unicode_problem(row_id) if careful else None
            if problem:
                raise err(f"'id' is not valid Unicode ({problem})")
        elif abs(row_id) >= 10**18:
            raise err("'id' integer too large (use a string id)")
        refs = obj.get("references")
        if careful:
            for key in ("caption", "image", "style"):
                value = obj.get(key)
                if isinstance(value, str) and _unicode_problem(value):
                    raise err(f"{key!r} is not valid Unicode ({_unicode_problem(value)})", row_id)
            for ref in refs if isinstance(refs, list) else []:
                if isinstance(ref, str) and _unicode_problem(ref):
                    raise err(f"a reference is not valid Unicode ({_unicode_problem(ref)})", row_id)
        caption = obj.get("caption")
        if caption is None:
            raise err(
                "missing 'caption'" + _unknown_hint(obj, _CAPTION_ALIASES, "caption", "--caption-column"),
                row_id,
            )
        if not isinstance(caption, str):
            raise err(f"'caption' must be a string, not {type(caption).__name__}", row_id)
        if len(caption) > MAX_CAPTION_CHARS:
            raise err(f"caption of {len(caption):,} characters (limit {MAX_CAPTION_CHARS:,})", row_id)
        if refs is not None and (not isinstance(refs, list) or not all(isinstance(r, str) for r in refs)):
            raise err("'references' must be a list of strings", row_id)
        style = obj.get("style")
        if style is not None and not isinstance(style, str):
            raise err("'style' must be a string", row_id)
        image = obj.get("image")
        resolved = None
        image_bytes = None
        image_ref = None
        if isinstance(image, dict):  # a Hugging Face Image feature: {"bytes": ..., "path": ...}
            image = image.get("bytes") or image.get("path")
        if image is None:
            if self.needs_image:
                raise err(
                    "missing 'image' (these rewards need the image)"
                    + _unknown_hint(obj, _IMAGE_ALIASES, "image", "--image-column"),
                    row_id,
                )
        elif isinstance(image, (bytes, bytearray)):
            if not image:
                raise err("'image' bytes are empty", row_id)
            image_bytes = bytes(image)
            if self.format == "parquet" and where:
                g, r = (int(x) for x in re.findall(r"\d+", where)[:2])
                image_ref = (str(path), self.image_column, g, r)
            image = None
        elif not isinstance(image, str) or not image:
            raise err("'image' must be a non-empty path string", row_id)
        else:
            try:
                resolved = resolve_image(self.root, image, allow_outside_root=self.allow_outside_root)
            except ValueError as exc:
                raise err(str(exc), row_id) from None
            if self.check_images and self.needs_image:
                problem = check_image_file(resolved)
                if problem:
                    raise err(f"image {image!r} {problem}", row_id)
        extra = {k: v for k, v in obj.items() if k not in {"id", "caption", "image", "references", "style"}}
        if "ended_with_eos" in extra and not isinstance(extra["ended_with_eos"], bool):
            raise err("'ended_with_eos' must be true or false", row_id)
        return Row(
            n,
            row_id,
            caption,
            resolved,
            image if isinstance(image, str) else None,
            refs,
            style,
            extra,
            implicit,
            image_bytes,
            image_ref,
            where,
        )


def parse_row(
    path: Path, n: int, text: str, image_root: Path, *, needs_image: bool, allow_outside_root: bool
) -> Row:
    """One JSONL line as a :class:`Row`, or :class:`RowError` saying what is wrong (never another error)."""
    items = list(_line_items([text.encode("utf-8", "surrogatepass")], path))
    if not items:
        raise RowError(path, n, "blank line")
    _, _, obj, problem, careful = items[0]
    if problem is not None:
        raise RowError(path, n, problem)
    reader = RowReader.__new__(RowReader)
    reader.path, reader.format, reader.root, reader.stdin = path, "jsonl", Path(image_root), False
    reader.needs_image, reader.allow_outside_root, reader.check_images = (
        needs_image,
        allow_outside_root,
        False,
    )
    reader.annotations, reader.image_column, reader.caption_column = None, "image", "caption"
    reader.unknown_keys, reader._numbers = {}, None
    try:
        return reader._row(obj, n, None, careful)
    except RowError:
        raise
    except RecursionError:
        raise RowError(path, n, "malformed JSON (nested too deeply)") from None
    except Exception as exc:
        raise RowError(path, n, f"unreadable row ({type(exc).__name__}: {str(exc)[:200]})") from None


def read_rows(
    path: str | Path,
    *,
    image_root: str | Path | None = None,
    needs_image: bool = True,
    allow_outside_root: bool = False,
    **options: Any,
) -> tuple[list[Row], list[RowError]]:
    """Every row of a captions file and every bad row, as lists (``options``: see :class:`RowReader`)."""
    reader = RowReader(
        path, image_root=image_root, needs_image=needs_image, allow_outside_root=allow_outside_root, **options
    )
    rows: list[Row] = []
    errors: list[RowError] = []
    for item in reader:
        (errors if isinstance(item, RowError) else rows).append(item)
    if not rows and not errors:
        raise RewardkitError(f"{reader.path}: empty file, no rows to score")
    return rows, errors

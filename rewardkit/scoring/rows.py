"""Captions files in every format captioners write, read as one stream of validated rows.

Formats (detected by extension, ``format=`` overrides): JSONL (``.jsonl``), gzip-compressed JSONL
(``.jsonl.gz``), a JSON array (``.json``), COCO results (a JSON array of ``{"image_id", "caption"}``,
with ``annotations=`` a COCO ``captions_*.json`` for file names and references), CSV/TSV with a
header (``.csv``/``.tsv``), Parquet (``.parquet``, an image path or image-bytes column) and ``-``
for standard input. Every row goes through the same validation; every mistake is a
:class:`RowError` naming the file and the row (``FILE:LINE`` for text formats, ``FILE[INDEX]``
for arrays, ``FILE (row group G, row R)`` for Parquet). Rows are yielded as they are read, so
memory does not grow with the file (duplicate ids are found through a set of 8-byte digests).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.io.images import MAX_IMAGE_PIXELS  # noqa: F401  (the cap, re-exported where rows are read)

try:
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency, kept optional
    _fast_loads = None

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


# --------------------------------------------------------------------------- sources


def detect_format(path: Path | str, fmt: str | None = None) -> str:
    """The input format: ``fmt`` if given, else from the file name (``-``: JSONL)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise RewardkitError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        return fmt
    name = str(path).lower()
    if name == STDIN:
        return "jsonl"
    for suffix, found in (
        (".jsonl.gz", "jsonl.gz"),
        (".ndjson.gz", "jsonl.gz"),
        (".json.gz", "jsonl.gz"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(suffix):
            return found
    return "jsonl"


def check_source(path: Path | str, fmt: str) -> None:
    """Refuse a captions file that cannot be read, before anything else happens."""
    if str(path) == STDIN:
        if fmt == "parquet":
            raise RewardkitError(
                "Parquet cannot be read from standard input (it needs seeking); pass the file"
            )
        return
    path = Path(path)
    if not path.exists():
        raise RewardkitError(f"{path}: no such file")
    if path.is_dir():
        raise RewardkitError(f"{path}: is a directory, expected a captions file")
    if not path.is_file():
        raise RewardkitError(
            f"{path}: not a regular file (a FIFO or device cannot be read twice; to score a pipe, "
            "feed it to standard input and pass - as CAPTIONS)"
        )
    if not os.access(path, os.R_OK):
        raise RewardkitError(f"{path}: cannot read (permission denied)")


def _open_binary(path: Path | str) -> Any:
    if str(path) == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise RewardkitError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _peek_first_char(path: Path | str) -> str:
    """The first non-blank character of a file (after a BOM), ``""`` if none."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    return text[:1]


def _line_items(fh: Any, path: Path | str) -> Iterator[tuple[int, str | None, Any, str | None, bool]]:
    """``(line, None, object, problem)`` for every non-blank line of a JSONL stream."""
    n = 0
    loads = json.loads
    fast = _fast_loads
    try:
        for n, raw in enumerate(fh, start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if fast is not None and len(raw) <= MAX_LINE_BYTES:
                try:  # valid UTF-8 and JSON orjson accepts parse as the standard library would
                    obj = fast(raw)
                except Exception:
                    pass  # the standard library says what is wrong (or accepts NaN, big integers, surrogates)
                else:
                    # orjson reads an integer past 64 bits as a float: such ids take the standard library's path
                    if not (
                        type(obj) is dict
                        and (type(obj.get("id")) is float or type(obj.get("image_id")) is float)
                    ):
                        yield n, None, obj, None, b"\\u" in raw
                        continue
                if not raw.strip():
                    continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield (
                    n,
                    None,
                    None,
                    f"not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
                    False,
                )
                continue
            if not text.strip():
                continue
            if len(text) > MAX_LINE_BYTES:
                yield n, None, None, f"line of {len(text):,} characters (limit {MAX_LINE_BYTES:,})", False
                continue
            try:
                obj = loads(text)
            except json.JSONDecodeError as exc:
                hint = ""
                if n == 1 and text.strip() == "[":
                    hint = " (the file looks like a JSON array: name it .json or pass --format json)"
                yield n, None, None, f"malformed JSON ({exc.msg} at column {exc.colno}){hint}", False
                continue
            except RecursionError:
                yield n, None, None, "malformed JSON (nested too deeply)", False
                continue
            except ValueError as exc:  # e.g. an integer past Python's digit limit
                yield n, None, None, f"malformed JSON ({str(exc).split(';')[0]})", False
                continue
            yield n, None, obj, None, "\\u" in text
    except (OSError, EOFError, zlib.error) as exc:  # a corrupt or truncated gzip stream
        raise RewardkitError(f"{path}: cannot be read past line {n} ({exc})") from None


_WS = re.compile(r"[ \t\r\n]*")


def _array_items(fh: Any, path: Path | str) -> Iterator[tuple[int, str | None, Any, str | None, bool]]:
    """``(index, "[index]", element, None)`` for every element of a JSON array, read incrementally."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict")
    dec = json.JSONDecoder()
    state = {"buf": "", "pos": 0, "eof": False}

    def fill() -> None:
        try:
            chunk = text.read(1 << 20)
        except UnicodeDecodeError as exc:
            raise RewardkitError(f"{path}: not valid UTF-8 ({exc.reason})") from None
        if not chunk:
            state["eof"] = True
        state["buf"] = state["buf"][state["pos"] :] + chunk
        state["pos"] = 0

    def skip_ws() -> str:
        while True:
            state["pos"] = _WS.match(state["buf"], state["pos"]).end()
            if state["pos"] < len(state["buf"]) or state["eof"]:
                return state["buf"][state["pos"] : state["pos"] + 1]
            fill()

    first = skip_ws()
    if not first:
        return
    if first != "[":
        raise RewardkitError(f"{path}: a JSON array of rows expected, found {first!r} at the start")
    state["pos"] += 1
    index = 0
    if skip_ws() == "]":
        return
    while True:
        skip_ws()
        while True:
            try:
                obj, end = dec.raw_decode(state["buf"], state["pos"])
                if end == len(state["buf"]) and not state["eof"]:  # a number may go on in the next chunk
                    fill()
                    continue
                break
            except json.JSONDecodeError as exc:
                if not state["eof"] and len(state["buf"]) - state["pos"] <= 4 * MAX_LINE_BYTES:
                    fill()
                    continue
                raise RewardkitError(
                    f"{path}[{index}]: malformed JSON ({exc.msg}); the array cannot be read past it"
                ) from None
            except RecursionError:
                raise RewardkitError(
                    f"{path}[{index}]: malformed JSON (nested too deeply); the array cannot be read past it"
                ) from None
        state["pos"] = end
        yield index, f"[{index}]", obj, None, True
        index += 1
        c = skip_ws()
        if c == ",":
            state["pos"] += 1
            continue
        if c == "]":
            state["pos"] += 1
            if skip_ws():
                raise RewardkitError(f"{path}: data after the end of the JSON array")
            return
        raise RewardkitError(
            f"{path}[{index - 1}]: expected ',' or ']' after this element"
            + (" (the file ends there: truncated?)" if not c else f", found {c!r}")
        )


def _csv_items(
    fh: Any, path: Path | str, delimiter: str, required: list[tuple[str, str]]
) -> Iterator[tuple[int, str | None, Any, str | None, bool]]:
    """``(line, None, {column: value}, problem)`` for every record of a CSV/TSV file with a header."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise RewardkitError(f"{path}:1: unreadable header ({exc})") from None
    header = [h.strip() for h in header]
    for column, flag in required:
        if column not in header:
            raise RewardkitError(
                f"{path}: the header has no {column!r} column (it has {', '.join(map(repr, header))}); "
                f"name the column with {flag}"
            )
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, None, f"unreadable CSV record ({exc})", False
            continue
        if not any(v.strip() for v in record):
            continue
        if any("\udc80" <= ch <= "\udcff" for v in record for ch in v if ch >= "\udc80"):
            yield start, None, None, "not valid UTF-8", False
            continue
        if len(record) != len(header):
            yield start, None, None, f"{len(record)} fields where the header has {len(header)}", False
            continue
        yield start, None, {h: v for h, v in zip(header, record) if v != ""}, None, False


def _csv_value(key: str, value: Any) -> Any:
    """A CSV cell as the JSON value it stands for (references: a JSON list or ``|``-separated)."""
    if not isinstance(value, str):
        return value
    if key == "references":
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value  # refused by the row check as "not a list of strings"
        return [part.strip() for part in text.split("|") if part.strip()]
    if key == "ended_with_eos":
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    return value


def _parquet_items(
    path: Path | str, required: list[tuple[str, str]]
) -> Iterator[tuple[int, str | None, Any, str | None, bool]]:
    """``(row number, " (row group G, row R)", row dict, None)`` for every row of a Parquet file."""
    pf = _parquet_file(path)
    names = pf.schema_arrow.names
    for column, flag in required:
        if column not in names:
            raise RewardkitError(
                f"{path}: no {column!r} column (it has {', '.join(map(repr, names))}); name the column with {flag}"
            )
    n = 0
    for g in range(pf.num_row_groups):
        r = 0
        try:
            batches = pf.iter_batches(batch_size=64, row_groups=[g], use_threads=False)
            for batch in batches:
                for obj in batch.to_pylist():
                    n += 1
                    yield n, f" (row group {g}, row {r})", obj, None, False
                    r += 1
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise RewardkitError(f"{path}: row group {g} cannot be read ({exc})") from None


def _parquet_file(path: Path | str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RewardkitError("reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        return pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises ArrowInvalid and others
        raise RewardkitError(f"{path}: not a readable Parquet file ({str(exc)[:200]})") from None


_PARQUET_CACHE: dict[str, Any] = {}


def _parquet_image_bytes(path: str, column: str, group: int, row: int) -> bytes | None:
    """The image bytes of one Parquet row (one row group's column is kept while its rows are read)."""
    key = f"{path}\0{column}\0{group}"
    values = _PARQUET_CACHE.get(key)
    if values is None:
        _PARQUET_CACHE.clear()
        values = _parquet_file(path).read_row_group(group, columns=[column]).column(0).to_pylist()
        _PARQUET_CACHE[key] = values
    value = values[row]
    if isinstance(value, dict):
        value = value.get("bytes")
    return value if isinstance(value, (bytes, bytearray)) else None


# --------------------------------------------------------------------------- COCO


class CocoAnnotations:
    """A COCO captions annotations file: ``image_id`` -> file name and -> reference captions."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        if not path.is_file():
            raise RewardkitError(f"{path}: no such annotations file (--annotations)")
        try:
            with open(path, "rb") as fh:
                data = json.load(fh)
        except (OSError, ValueError, RecursionError) as exc:
            raise RewardkitError(f"{path}: not a readable COCO annotations file ({str(exc)[:200]})") from None
        if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
            raise RewardkitError(
                f"{path}: not a COCO captions annotations file (a JSON object with 'images' and 'annotations')"
            )
        self.path = path
        self.files: dict[str, str] = {}
        for i, img in enumerate(data.get("images") or []):
            if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
                raise RewardkitError(f"{path}: images[{i}] needs an 'id' and a 'file_name'")
            self.files[row_key(img["id"])] = img["file_name"]
        self.refs: dict[str, list[str]] = {}
        for i, ann in enumerate(data["annotations"]):
            if not isinstance(ann, dict) or "image_id" not in ann or not isinstance(ann.get("caption"), str):
                raise RewardkitError(f"{path}: annotations[{i}] needs an 'image_id' and a 'caption'")
            self.refs.setdefault(row_key(ann["image_id"]), []).append(ann["caption"])


def _number_index(folder: Path) -> dict[int, list[str]]:
    """File names in ``folder`` by the number their stem ends with (``COCO_val2014_000000000042.jpg`` -> 42)."""
    index: dict[int, list[str]] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return index
    for name in names:
        m = re.search(r"(\d+)$", os.path.splitext(name)[0])
        if m:
            index.setdefault(int(m.group(1)), []).append(name)
    return index


# --------------------------------------------------------------------------- duplicate ids


class KeySet:
    """A set of 8-byte key digests with a small value each, in two numpy arrays (16 bytes a slot).

    Open addressing with linear probing, at most half full: ~32 bytes per row, where a Python set
    of the keys would take ~100.
    """

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._keys = np.zeros(1 << 12, dtype=np.uint64)
        self._vals = np.zeros(1 << 12, dtype=np.int64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _slot(self, k: int) -> int:
        keys = self._keys
        mask = len(keys) - 1
        i = k & mask
        while True:
            cur = int(keys[i])
            if cur == 0 or cur == k:
                return i
            i = (i + 1) & mask

    def add(self, digest: bytes, value: int) -> int | None:
        """Insert; the value already stored for this digest if it was there (then nothing changes)."""
        k = int.from_bytes(digest, "little") or 1
        i = self._slot(k)
        if int(self._keys[i]) == k:
            return int(self._vals[i])
        self._keys[i] = k
        self._vals[i] = value
        self._n += 1
        if 2 * self._n > len(self._keys):
            self._grow()
        return None

    def __contains__(self, digest: bytes) -> bool:
        k = int.from_bytes(digest, "little") or 1
        return int(self._keys[self._slot(k)]) == k

    def _grow(self) -> None:
        np = self._np
        old_keys, old_vals = self._keys, self._vals
        used = old_keys != 0
        keys, vals = old_keys[used], old_vals[used]
        size = len(old_keys) * 2
        self._keys = np.zeros(size, dtype=np.uint64)
        self._vals = np.zeros(size, dtype=np.int64)
        mask = np.uint64(size - 1)
        slots = keys & mask
        # vectorised linear probing: place what lands in a free slot, move the rest one slot on
        pending = np.arange(len(keys))
        while len(pending):
            s = slots[pending]
            order = np.argsort(s, kind="stable")
            s_sorted = s[order]
            first = np.ones(len(s_sorted), dtype=bool)
            first[1:] = s_sorted[1:] != s_sorted[:-1]
            cand = pending[order[first]]
            free = self._keys[slots[cand]] == 0
            placed = cand[free]
            self._keys[slots[placed]] = keys[placed]
            self._vals[slots[placed]] = vals[placed]
            mask_placed = np.zeros(len(keys), dtype=bool)
            mask_placed[placed] = True
            pending = pending[~mask_placed[pending]]
            slots[pending] = (slots[pending] + np.uint64(1)) & mask


class BloomFilter:
    """Membership of 8-byte key digests in 12 bits a key (4 probes; under 0.7 % false positives when full).

    Grows by adding a filter twice the size when its capacity is reached, so the false-positive
    rate holds whatever the row count.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._filters: list[tuple[bytearray, int, int]] = []
        self._count = 0
        self._capacity = 0
        self._new(capacity)

    def _new(self, capacity: int) -> None:
        bits = max(1 << 16, capacity * 12)
        self._filters.append((bytearray((bits >> 3) + 1), bits, capacity))
        self._capacity += capacity

    @staticmethod
    def _probes(digest: bytes, bits: int) -> list[int]:
        h1 = int.from_bytes(digest[:4], "little")
        h2 = int.from_bytes(digest[4:], "little") | 1
        return [h1 % bits, (h1 + h2) % bits, (h1 + 2 * h2) % bits, (h1 + 3 * h2) % bits]

    def __contains__(self, digest: bytes) -> bool:
        for array, size, _ in self._filters:
            if all(array[i >> 3] & (1 << (i & 7)) for i in self._probes(digest, size)):
                return True
        return False

    def add(self, digest: bytes) -> bool:
        """Insert; whether the digest may have been there already (never a false no)."""
        present = digest in self
        if not present:
            if self._count >= self._capacity:
                self._new(2 * self._filters[-1][2])
            array, size, _ = self._filters[-1]
            for i in self._probes(digest, size):
                array[i >> 3] |= 1 << (i & 7)
            self._count += 1
        return present


# --------------------------------------------------------------------------- the reader

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


# --------------------------------------------------------------------------- images


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
        return _parquet_image_bytes(*row.image_ref)
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

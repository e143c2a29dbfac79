"""The captions-file formats: detection, and one item stream per format (JSONL, JSON array, CSV/TSV, Parquet, COCO).

Each ``*_items`` generator yields ``(position, where, object, problem, careful)`` for the reader
(:class:`rewardkit.scoring.rows.RowReader`) to validate.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.scoring.row import FORMATS, MAX_LINE_BYTES, STDIN, row_key

try:
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency, kept optional
    _fast_loads = None


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


def parquet_image_bytes(path: str, column: str, group: int, row: int) -> bytes | None:
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

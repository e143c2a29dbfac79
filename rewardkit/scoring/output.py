"""Output files of a scoring run: one writer at a time (a lock beside OUT) and what produced OUT (its meta)."""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


class OutputError(RewardkitError):
    """OUT cannot be written, is in use, or holds rows of another input or reward setup."""


_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def jsonl_line(record: Any) -> str:
    """One JSONL line, UTF-8 text kept readable but every character some readers split lines on escaped."""
    text = json.dumps(record, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text + "\n"


try:  # orjson writes the same JSON about ten times faster; the standard library is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency, kept optional for vendored installs
    _orjson = None

_LINE_BREAK_BYTES = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def jsonl_bytes(record: Any) -> bytes:
    """:func:`jsonl_line` as UTF-8 bytes (compact separators when orjson is there)."""
    if _orjson is not None:
        try:
            data = _orjson.dumps(record)
        except TypeError:  # an integer past 64 bits, a non-string key: the standard library writes those
            return jsonl_line(record).encode("utf-8")
        if b"\xc2\x85" in data or b"\xe2\x80" in data:
            for raw, escaped in _LINE_BREAK_BYTES:
                data = data.replace(raw, escaped)
        return data + b"\n"
    return jsonl_line(record).encode("utf-8")


def sidecar(out: Path, suffix: str) -> Path:
    """``OUT.jsonl`` -> ``OUT<suffix>`` (e.g. ``.summary.json``, ``.errors.jsonl``)."""
    name = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(name + suffix)


def describe_os_error(path: Path, exc: OSError) -> str:
    """``OUT: reason`` for an OS error while writing, with what to do for the common ones."""
    hints = {
        errno.ENOSPC: "the disk is full; free space, then rerun with --resume",
        errno.EDQUOT: "the disk quota is exceeded; free space, then rerun with --resume",
        errno.EROFS: "the filesystem is read-only; choose another -o",
        errno.EACCES: "permission denied; choose another -o",
        errno.EPERM: "permission denied; choose another -o",
        errno.EISDIR: "is a directory; choose a file name for -o",
        errno.ENOTDIR: "a parent of it is not a directory",
    }
    return f"{path}: cannot write: {hints.get(exc.errno, exc.strerror or str(exc))}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``path`` through a fresh temp file (never a name an attacker could pre-create) and a rename.

    The temp file never survives a failure; an existing ``path`` that is not a regular file is
    refused (see :func:`check_regular_outputs`), never replaced.
    """
    import tempfile

    check_regular_outputs([path], path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_regular_outputs(paths: Iterable[Path], folder: Path | None = None) -> None:
    """Refuse, before anything is written, an output that exists and is not a regular file.

    A device, FIFO or socket, or a symlink to one of them or to anything outside ``folder`` (the
    output folder), is named with what to do: rewardkit only ever replaces or deletes regular files
    it writes, so ``-o /dev/null`` (or a copy of it) is refused rather than replaced.
    """
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        if stat.S_ISLNK(st.st_mode):
            target = Path(os.path.realpath(path))
            base = Path(os.path.realpath(folder if folder is not None else path.parent))
            try:
                target.relative_to(base)
            except ValueError:
                raise OutputError(
                    f"{path}: is a symlink to {target}, outside the output folder {base}; "
                    "rewardkit writes only regular files there: choose another -o"
                ) from None
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{path}: is a directory; choose a file name for -o")
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a FIFO"
                if stat.S_ISFIFO(st.st_mode)
                else "a socket"
                if stat.S_ISSOCK(st.st_mode)
                else "not a regular file"
            )
            raise OutputError(
                f"{path}: is {kind}, not a regular file; rewardkit writes only regular files and never "
                "replaces anything else: choose another -o"
            )


def fingerprint(value: Any) -> str:
    """A short stable hash of a JSON-able value."""
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


FINGERPRINT = struct.Struct("<Q8s8s")
"""One resume record per OUT row: the row's position among the good input rows, its key's 8-byte
digest and the first 8 bytes of its fingerprint (24 bytes a row, appended as rows are written)."""
FSYNC_SECONDS = 5.0
"""OUT and its fingerprints are flushed after every batch and fsynced at most this often (and at the end)."""


def fingerprints_path(jsonl: Path) -> Path:
    """``OUT.jsonl`` -> ``OUT.fingerprints.bin`` (also for part files)."""
    return sidecar(jsonl, ".fingerprints.bin")


def scan_out(out: Path) -> tuple[int, int, int]:
    """``(rows, bytes, fingerprint records)`` OUT holds intact: a torn last line (a crash mid-write) is not counted."""
    n = good = 0
    try:
        if out.exists():
            with open(out, "rb") as fh:
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break
                    try:
                        rec = json.loads(raw)
                    except (ValueError, RecursionError):
                        break
                    if not isinstance(rec, dict) or "id" not in rec:
                        break
                    n += 1
                    good += len(raw)
        fp = fingerprints_path(out)
        n_fp = fp.stat().st_size // FINGERPRINT.size if fp.exists() else 0
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None
    return n, good, n_fp


def truncate_out(out: Path, rows: int) -> None:
    """Keep OUT's first ``rows`` rows and as many fingerprint records (drops a torn tail of either)."""
    try:
        size = 0
        with open(out, "rb") as fh:
            for _ in range(rows):
                size += len(fh.readline())
        if out.stat().st_size != size:
            os.truncate(out, size)
        fp = fingerprints_path(out)
        if fp.exists() and fp.stat().st_size != rows * FINGERPRINT.size:
            os.truncate(fp, rows * FINGERPRINT.size)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None


def iter_out(out: Path, rows: int) -> Iterator[tuple[bytes, int, bytes, bytes]]:
    """OUT's first ``rows`` rows as ``(line, position, key digest, fingerprint)``, read as a stream."""
    if rows <= 0:
        return
    try:
        with open(out, "rb") as fh, open(fingerprints_path(out), "rb") as fp:
            for _ in range(rows):
                raw = fh.readline()
                rec = fp.read(FINGERPRINT.size)
                if len(rec) < FINGERPRINT.size or not raw:
                    return
                g, kd, fpr = FINGERPRINT.unpack(rec)
                yield raw, g, kd, fpr
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None


class OutWriter:
    """Appends rows to a JSONL file and their fingerprint records to its sidecar.

    Each batch is flushed (fingerprints first, so a kill never leaves a row without its record);
    fsync runs at most every :data:`FSYNC_SECONDS` and on :meth:`close`. A kill -9 loses nothing
    flushed; a power loss can lose the rows written since the last fsync (up to ~5 s of rows).
    """

    def __init__(self, path: Path) -> None:
        import time

        self.path = path
        self._clock = time.monotonic
        try:
            self.fp = open(fingerprints_path(path), "ab")
            self.fh = open(path, "ab")
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        self._synced = self._clock()
        self.rows = 0

    def write(self, rows: Iterable[tuple[int, bytes, bytes, bytes]]) -> None:
        """Append ``(position, key digest, fingerprint bytes, JSONL line as bytes)`` rows and flush them."""
        rows = list(rows)
        if not rows:
            return
        try:
            self.fp.write(b"".join(FINGERPRINT.pack(g, kd, fp) for g, kd, fp, _ in rows))
            self.fp.flush()
            for _, _, _, line in rows:
                self.fh.write(line)
            self.fh.flush()
            if self._clock() - self._synced >= FSYNC_SECONDS:
                self.sync()
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc)) from None
        self.rows += len(rows)

    def sync(self) -> None:
        os.fsync(self.fp.fileno())
        os.fsync(self.fh.fileno())
        self._synced = self._clock()

    def close(self, *, sync: bool = True) -> None:
        try:
            if sync:
                self.fp.flush()
                self.fh.flush()
                self.sync()
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc)) from None
        finally:
            self.fp.close()
            self.fh.close()


def merge_outputs(out: Path, parts: list[Path]) -> None:
    """Merge part files into OUT by input position, in one streaming pass (each file is already in order)."""
    import heapq
    import tempfile

    sources = [p for p in [out, *parts] if p.exists()]
    for path in sources:
        n, _, n_fp = scan_out(path)
        if n and not n_fp:  # rows without any resume record (another version wrote them): never dropped
            raise OutputError(
                f"{path}: holds {n} rows but no fingerprint records, so it cannot be merged in input "
                "order; rerun without --resume or choose another -o"
            )

    def stream(path: Path) -> Iterator[tuple[int, bytes, bytes]]:
        n, _, n_fp = scan_out(path)
        for raw, g, kd, fpr in iter_out(path, min(n, n_fp)):
            yield g, raw, FINGERPRINT.pack(g, kd, fpr)

    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".tmp")
    fd2, tmp_fp_name = tempfile.mkstemp(dir=out.parent, prefix=fingerprints_path(out).name + ".tmp")
    tmp, tmp_fp = Path(tmp_name), Path(tmp_fp_name)
    try:
        with os.fdopen(fd, "wb") as fh, os.fdopen(fd2, "wb") as fp:
            for _, raw, rec in heapq.merge(*(stream(p) for p in sources), key=lambda t: t[0]):
                fh.write(raw)
                fp.write(rec)
            fh.flush()
            fp.flush()
            os.fsync(fh.fileno())
            os.fsync(fp.fileno())
        os.chmod(tmp, 0o644)
        os.chmod(tmp_fp, 0o644)
        os.replace(tmp_fp, fingerprints_path(out))
        os.replace(tmp, out)
        for part in parts:
            part.unlink(missing_ok=True)
            fingerprints_path(part).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_fp.unlink(missing_ok=True)

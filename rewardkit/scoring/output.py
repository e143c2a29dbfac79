"""Output files of a scoring run: one writer at a time (a lock beside OUT) and what produced OUT (its meta)."""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold ``OUT.lock`` while OUT is written; a second writer is refused, a dead writer's lock is taken over.

    The lock is an ``flock`` on the lock file (released by the OS when its holder dies) with the
    holder's pid and host written inside for the message.
    """
    import fcntl

    path = sidecar(out, ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(path.parent, exc)) from None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputError(
                f"{out}: another rewardkit run is writing it ({holder}); wait for it to finish or choose another -o"
            ) from None
        try:  # the file we locked may have been removed by a holder that just finished
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
    try:
        yield path
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        os.close(fd)


def lock_holder(out: Path) -> str | None:
    """Who holds OUT's lock right now (``None`` when nobody does)."""
    import fcntl

    path = sidecar(out, ".lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(fd, 200).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    return None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``path`` through a temp file and a rename; the temp file never survives a failure."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fingerprint(value: Any) -> str:
    """A short stable hash of a JSON-able value."""
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_meta(out: Path) -> dict[str, Any] | None:
    """``OUT.meta.json`` (what produced OUT), ``None`` if absent."""
    path = sidecar(out, ".meta.json")
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable ({exc}); rerun without --resume") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("rows"), dict):
        raise OutputError(f"{path}: not a rewardkit meta file; rerun without --resume")
    return meta


def check_resume(
    out: Path,
    meta: Mapping[str, Any] | None,
    setup: Mapping[str, Any],
    rows: Mapping[str, tuple[int, str]],
    done: Iterator[str] | list[str],
) -> None:
    """Refuse to resume OUT when its rows came from other input rows or another reward setup, saying what differs."""
    done = list(done)
    if not done:
        return
    if meta is None:
        raise OutputError(
            f"{out}: holds {len(done)} rows but no {sidecar(out, '.meta.json').name} saying what produced them; "
            "rerun without --resume"
        )
    diff = _first_difference(meta.get("setup", {}), json.loads(json.dumps(dict(setup), default=str)))
    if diff is not None:
        where, then, now = diff
        raise OutputError(
            f"{out}: cannot resume: the reward setup differs at {where} ({_short(then)} then, {_short(now)} now); "
            "rerun without --resume or choose another -o"
        )
    fps = meta["rows"]
    for key in done:
        if key not in rows:
            raise OutputError(
                f"{out}: cannot resume: it holds id {key!r}, which the captions file no longer has; "
                "rerun without --resume or choose another -o"
            )
        line, fp = rows[key]
        if fps.get(key) != fp:
            raise OutputError(
                f"{out}: cannot resume: id {key!r} (line {line}) differs from the row that was scored "
                "(caption, image, references, style or ended_with_eos changed); rerun without --resume or choose another -o"
            )


_MISSING = "<absent>"


def _first_difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first key path where two JSON values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{where}.{key}" if where else str(key)
            if key not in old or key not in new:
                return sub, old.get(key, _MISSING), new.get(key, _MISSING)
            found = _first_difference(old[key], new[key], sub)
            if found:
                return found
        return None
    return None if old == new else (where or "setup", old, new)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def write_meta(out: Path, setup: Mapping[str, Any], rows: Mapping[str, tuple[int, str]]) -> None:
    """Record what produces OUT: the resolved reward setup and a fingerprint of every input row."""
    meta = {"setup": dict(setup), "rows": {k: fp for k, (_, fp) in rows.items()}}
    atomic_write_text(sidecar(out, ".meta.json"), json.dumps(meta, ensure_ascii=True) + "\n")

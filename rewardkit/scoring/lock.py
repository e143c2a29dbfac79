"""One writer at a time: ``OUT.lock`` beside OUT, held while a run writes it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rewardkit.scoring.output import OutputError, describe_os_error, sidecar


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

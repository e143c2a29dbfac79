"""OUT's file concerns besides writing rows: what produced it (``OUT.meta.json``), the rows it already holds
(resume), part files (sharded runs, gap rows) and preparing OUT before a run writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.scoring.keysets import KeySet
from rewardkit.scoring.output import (
    FINGERPRINT,
    OutputError,
    atomic_write_text,
    describe_os_error,
    fingerprints_path,
    iter_out,
    scan_out,
    sidecar,
)
from rewardkit.scoring.row import Row, row_key

META_FORMAT = 2


def read_meta(out: Path) -> dict[str, Any] | None:
    """``OUT.meta.json`` (what produced OUT), ``None`` if absent."""
    path = sidecar(out, ".meta.json")
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable ({exc}); rerun without --resume") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("setup"), dict):
        raise OutputError(f"{path}: not a rewardkit meta file; rerun without --resume")
    if meta.get("format") != META_FORMAT:
        raise OutputError(
            f"{path}: written by another rewardkit version (per-row fingerprints inline); rerun without --resume"
        )
    return meta


def check_setup(out: Path, meta: Mapping[str, Any], setup: Mapping[str, Any]) -> None:
    """Refuse to resume OUT when another reward setup produced it, saying what differs."""
    diff = _first_difference(meta.get("setup", {}), json.loads(json.dumps(dict(setup), default=str)))
    if diff is not None:
        where, then, now = diff
        raise OutputError(
            f"{out}: cannot resume: the reward setup differs at {where} ({_short(then)} then, {_short(now)} now); "
            "rerun without --resume or choose another -o"
        )


def write_meta(out: Path, setup: Mapping[str, Any], rows: Any = None) -> None:
    """Record what produces OUT: the resolved reward setup (row fingerprints go to ``OUT.fingerprints.bin``)."""
    meta = {"format": META_FORMAT, "setup": dict(setup), "fingerprints": fingerprints_path(out).name}
    atomic_write_text(sidecar(out, ".meta.json"), json.dumps(meta, ensure_ascii=True) + "\n")


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


def read_done(out: Path, *, repair: bool = True) -> dict[str, dict[str, Any]]:
    """Rows in OUT by id key (a torn last line is dropped from the file when ``repair``); reads OUT whole."""
    n, good, _ = scan_out(out)
    done: dict[str, dict[str, Any]] = {}
    if n:
        with open(out, "rb") as fh:
            for _ in range(n):
                rec = json.loads(fh.readline())
                done[row_key(rec["id"])] = rec
    if repair and out.exists() and out.stat().st_size != good:
        try:
            with open(out, "r+b") as fh:
                fh.truncate(good)
        except OSError as exc:
            raise OutputError(describe_os_error(out, exc)) from None
    return done


class NotPrepared(RewardkitError):
    """OUT was not prepared (in use, or a resume refused): nothing may be merged into it."""


def shard_path(out: Path, rank: int) -> Path:
    """This process's part file when scoring is sharded (or a resumed run fills gaps in OUT)."""
    return sidecar(out, f".part{rank}.jsonl")


def part_files(out: Path) -> list[Path]:
    """Every part file beside OUT (of any earlier world size too)."""
    prefix = sidecar(out, ".part").name
    return sorted(
        p for p in out.parent.glob(prefix + "*.jsonl") if p.name[len(prefix) : -len(".jsonl")].isdigit()
    )


def output_paths(out: Path, world: int = 1) -> list[Path]:
    """OUT and every sidecar a run may write, replace or delete."""
    paths = [out, fingerprints_path(out)]
    paths += [sidecar(out, s) for s in (".summary.json", ".errors.jsonl", ".meta.json", ".lock")]
    for part in {
        *(part_files(out) if out.parent.is_dir() else []),
        *(shard_path(out, r) for r in range(world)),
    }:
        paths += [part, fingerprints_path(part)]
    return paths


class DoneCursor:
    """OUT's kept rows, matched in order against the input rows they were scored from."""

    def __init__(self, out: Path, keep: int) -> None:
        self.out = out
        self._it = iter_out(out, keep)
        self.pending = next(self._it, None)
        self.last = -1

    def match(self, g: int, row: Row, kd: bytes, fp: bytes) -> bytes | None:
        """OUT's line for this row if it is already scored (checked against its fingerprint), else ``None``."""
        p = self.pending
        if p is None or p[2] != kd:
            return None
        raw, g0, _, fp0 = p
        place = row.where.strip(" ()") if row.where else f"line {row.line}"
        if fp0 != fp:
            raise OutputError(
                f"{self.out}: cannot resume: id {row.key!r} ({place}) differs from the row that was scored "
                "(caption, image, references, style or ended_with_eos changed); rerun without --resume or "
                "choose another -o"
            )
        if g0 != g:
            raise OutputError(
                f"{self.out}: cannot resume: id {row.key!r} ({place}) is not where it was when it was scored "
                "(rows were added or removed before it); rerun without --resume or choose another -o"
            )
        self.pending = next(self._it, None)
        return raw

    def finish(self, seen: KeySet) -> None:
        """Refuse when OUT holds rows the input no longer has (or has in another order)."""
        if self.pending is None:
            return
        raw, _, kd, _ = self.pending
        try:
            shown = repr(row_key(json.loads(raw)["id"]))
        except (ValueError, KeyError, TypeError):
            shown = "?"
        if kd in seen:
            raise OutputError(
                f"{self.out}: cannot resume: it holds id {shown} in another order than the captions file "
                "(rows were reordered); rerun without --resume or choose another -o"
            )
        raise OutputError(
            f"{self.out}: cannot resume: it holds id {shown}, which the captions file no longer has; "
            "rerun without --resume or choose another -o"
        )


def prepare_out(out: Path, setup: dict[str, Any], *, resume: bool = False) -> None:
    """Before any row is written: clear a fresh run's files (a resume keeps OUT), record the meta.

    A summary never outlives the rows it describes (it is removed here and written again at the end).
    """
    if resume:
        stale = [sidecar(out, ".summary.json")]
    else:
        stale = [out, fingerprints_path(out), sidecar(out, ".summary.json"), sidecar(out, ".errors.jsonl")]
        for part in part_files(out):
            stale += [part, fingerprints_path(part)]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for path in stale:
            path.unlink(missing_ok=True)
        write_meta(out, setup)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None


def last_position(out: Path, keep: int) -> int:
    """The input position of OUT's last kept row (-1 when OUT is empty)."""
    if keep <= 0:
        return -1
    with open(fingerprints_path(out), "rb") as fh:
        fh.seek((keep - 1) * FINGERPRINT.size)
        return FINGERPRINT.unpack(fh.read(FINGERPRINT.size))[0]

"""Crash-safe training checkpoints: numbered folders, completed and fsynced, then an atomically replaced pointer.

Layout of a run folder::

    checkpoints/step-00000050/  trainable.safetensors  state.pt  config.json  setup.json  COMPLETE
    checkpoints/step-00000100/  ...
    checkpoints/LATEST          "step-00000100"

At every instant of a save the previous complete checkpoint is on disk: the new folder is
written under a temporary name, fsynced, renamed, marked ``COMPLETE``, and only then does
``LATEST`` move to it (temp file, fsync, rename, fsync of the folder); older folders are removed
last, keeping the previous one. Loading tries ``LATEST`` first and falls back to the newest
other complete folder when a file is missing or corrupt.

``setup.json`` records what decides the run's outputs besides ``config.json``: the policy's and
the reward models' identities (hub ids or weight hashes, never install paths). A resume compares
both with the run it continues (:func:`check_resume`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

FILES = ("trainable.safetensors", "state.pt", "config.json")
KEEP = 2


class CheckpointError(RewardkitError):
    """No usable checkpoint (missing, incomplete or corrupt)."""


def checkpoints_dir(run: Path) -> Path:
    return Path(run) / "checkpoints"


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _name(step: int) -> str:
    return f"step-{step:08d}"


def write_checkpoint(
    run: Path,
    step: int,
    tensors: dict[str, Any],
    state: dict[str, Any],
    config: dict[str, Any],
    setup: dict[str, Any] | None = None,
) -> Path:
    """Write checkpoint ``step`` and point ``LATEST`` at it; returns its folder."""
    import torch
    from safetensors.torch import save_file

    root = checkpoints_dir(run)
    root.mkdir(parents=True, exist_ok=True)
    final = root / _name(step)
    tmp = root / f".{_name(step)}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(tensors, str(tmp / "trainable.safetensors"))
    torch.save(state, tmp / "state.pt")
    (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    names = list(FILES)
    if setup is not None:
        (tmp / "setup.json").write_text(json.dumps(setup, indent=2), encoding="utf-8")
        names.append("setup.json")
    for name in names:
        _fsync_path(tmp / name)
    _fsync_path(tmp)
    if final.exists():  # a crashed earlier save of the same step, never pointed to
        shutil.rmtree(final)
    os.replace(tmp, final)
    (final / "COMPLETE").write_text(str(step), encoding="utf-8")
    _fsync_path(final / "COMPLETE")
    _fsync_path(final)
    _fsync_path(root)
    pointer_tmp = root / f".LATEST.tmp{os.getpid()}"
    pointer_tmp.write_text(final.name, encoding="utf-8")
    _fsync_path(pointer_tmp)
    os.replace(pointer_tmp, root / "LATEST")
    _fsync_path(root)
    for old in complete_checkpoints(run)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    for stray in root.glob(".step-*.tmp*"):
        shutil.rmtree(stray, ignore_errors=True)
    return final


def complete_checkpoints(run: Path) -> list[Path]:
    """Complete checkpoint folders, newest first."""
    root = checkpoints_dir(run)
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if p.is_dir() and (p / "COMPLETE").exists()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def candidates(run: Path) -> list[Path]:
    """Checkpoints to try, in order: the one ``LATEST`` names, then every other complete one, newest first."""
    root = checkpoints_dir(run)
    order: list[Path] = []
    try:
        named = (root / "LATEST").read_text(encoding="utf-8").strip()
        if named and (root / named / "COMPLETE").exists():
            order.append(root / named)
    except (OSError, UnicodeDecodeError):
        pass
    order += [p for p in complete_checkpoints(run) if p not in order]
    return order


def read_checkpoint(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights and the state of one checkpoint folder, fully read and checked before anything is applied."""
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    for name in FILES[:2]:
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder}: {name} is missing")
    try:
        weights = load_file(str(folder / "trainable.safetensors"))
    except Exception as exc:  # safetensors raises its own error types on a damaged file
        raise CheckpointError(
            f"{folder}/trainable.safetensors is corrupt ({' '.join(str(exc).split())[:120]})"
        ) from None
    try:
        state = torch.load(folder / "state.pt", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise CheckpointError(f"{folder}/state.pt is corrupt ({' '.join(str(exc).split())[:120]})") from None
    needed = {"optimizer", "scheduler", "step", "torch_rng", "python_rng"}
    if not isinstance(state, dict) or not needed <= set(state):
        raise CheckpointError(f"{folder}/state.pt is not a rewardkit training state")
    return weights, state


def load_latest(
    run: Path, *, log: Callable[[str], None] = print
) -> tuple[Path, dict[str, Any], dict[str, Any]] | None:
    """The newest usable checkpoint of a run (falling back past corrupt ones), or ``None`` if there is none at all."""
    tried = candidates(run)
    problems = []
    for folder in tried:
        try:
            weights, state = read_checkpoint(folder)
        except CheckpointError as exc:
            problems.append(str(exc))
            continue
        for p in problems:
            log(f"skipped a damaged checkpoint: {p}; resuming from {folder.name}")
        return folder, weights, state
    if problems:
        raise CheckpointError(
            f"{run}: no usable checkpoint ({'; '.join(problems)}); start a new run with another --out"
        )
    return None


def find_checkpoint(
    path: Path, *, log: Callable[[str], None] = print
) -> tuple[Path, dict[str, Any], dict[str, Any]] | None:
    """The checkpoint folder ``path`` itself when it is one, else the newest usable checkpoint of the run ``path``."""
    if (Path(path) / "trainable.safetensors").exists():
        return (Path(path), *read_checkpoint(Path(path)))
    return load_latest(Path(path), log=log)


def training_state(optimizer: Any, scheduler: Any, step: int) -> dict[str, Any]:
    """What continues a run besides its weights: optimiser, scheduler, step and both RNG states."""
    import random

    import torch

    return {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
    }


def restore_training_state(state: dict[str, Any], optimizer: Any, scheduler: Any) -> int:
    """Put back what :func:`training_state` saved (RNGs included); returns the step."""
    import random

    import torch

    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    py = state["python_rng"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    return int(state["step"])


def check_shapes(folder: Path, weights: dict[str, Any], own: dict[str, Any]) -> None:
    """Refuse a checkpoint holding tensors the policy does not have, or has in another shape."""
    bad = [k for k in weights if k not in own or own[k].shape != weights[k].shape]
    if bad:
        raise CheckpointError(
            f"{folder}: holds {len(bad)} tensors this policy does not have or has in another shape "
            f"(e.g. {bad[0]}); was it written with another --policy or config?"
        )


def read_metrics(path: Path, *, up_to: int | None = None) -> list[dict[str, Any]]:
    """The lines of ``metrics.jsonl`` that parse (a torn last line is dropped), optionally up to a step."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            if up_to is None or rec["step"] <= up_to:
                out.append(rec)
    return out


def rewrite_metrics(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``metrics.jsonl`` atomically with ``records``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, path)


RESUMABLE = ("steps", "probe_every", "probe_size", "checkpoint_every", "device")
"""Settings a resume may change: the run's length, its logging and output, and where it runs."""


def _first_difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            found = _first_difference(
                old.get(key, "(absent)"), new.get(key, "(absent)"), f"{where}.{key}" if where else str(key)
            )
            if found:
                return found
        return None
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        old, new = list(old), list(new)
    return None if old == new else (where, old, new)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check_resume(folder: Path, config: dict[str, Any], setup: dict[str, Any]) -> None:
    """Refuse to continue checkpoint ``folder`` under another config or setup, naming the first difference.

    Only :data:`RESUMABLE` settings may change. When the checkpoint records its setup (policy and
    reward identities), the ``policy`` and ``preset`` strings themselves may differ: the same models
    named another way (a folder moved, another checkout) resume.
    """
    folder = Path(folder)
    saved = _read_json(folder / "config.json")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{folder}/config.json is missing or not JSON: cannot check the resumed config")
    saved_setup = _read_json(folder / "setup.json")
    skip = set(RESUMABLE)
    if isinstance(saved_setup, dict):
        skip |= {"policy", "preset"}
    then = {k: v for k, v in saved.items() if k not in skip}
    now = {k: v for k, v in json.loads(json.dumps(config)).items() if k not in skip}
    found = _first_difference(then, now)
    what = "config"
    if found is None and isinstance(saved_setup, dict):
        found = _first_difference(saved_setup, json.loads(json.dumps(setup)))
        what = "setup (policy and reward models)"
    if found:
        where, old, new = found
        raise CheckpointError(
            f"--resume: {folder.name}: the {what} differs at {where} ({_short(old)} in the checkpoint, "
            f"{_short(new)} now); a resume may change only {', '.join(RESUMABLE)}; "
            "start a new run with another --out to train with other settings"
        )


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

"""What decides a reward's outputs, for resume records: model identities (hub id or a hash of local weights).

Never the folder a model is installed in, so a run resumes from another checkout or environment of the
same models.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.preset_files import model_spec
from rewardkit.registry import MODELS, ModelSpec, PresetSpec  # noqa: F401  (MODELS: the doctest's)

_HASHES: dict[tuple[str, int, int], str] = {}
FULL_HASH_LIMIT = 2 << 30
"""Local weights up to 2 GiB are hashed whole; a larger folder by each file's size and first and last MiB."""


def _local_path(value: str) -> Path | None:
    raw = value[len("local-dir:") :] if value.startswith("local-dir:") else value
    path = Path(raw).expanduser()
    return (
        path if (value.startswith("local-dir:") or raw.startswith((".", "/", "~"))) or path.exists() else None
    )


def _file_digest(path: Path, whole: bool) -> str:
    import hashlib

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns if whole else -st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            if whole:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            else:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, st.st_size - (1 << 20)))
                h.update(fh.read(1 << 20))
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def weights_digest(path: str | Path) -> str:
    """A content hash of a model file or folder (file names relative to it, sizes and bytes), not of where it lies.

    Hidden files and READMEs are left out; a folder over :data:`FULL_HASH_LIMIT` is fingerprinted
    (``fp:`` prefix) from each file's size and first and last MiB.
    """
    import hashlib

    path = Path(path)
    if path.is_file():
        return _file_digest(path, True)
    if not path.is_dir():
        return "missing"
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and not p.name.upper().startswith("README")
    )
    whole = sum(p.stat().st_size for p in files) <= FULL_HASH_LIMIT
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(path).as_posix()}\0{p.stat().st_size}\0{_file_digest(p, whole)}\n".encode())
    return ("" if whole else "fp:") + h.hexdigest()


def model_identity(spec: ModelSpec) -> dict[str, Any]:
    """What decides a model's outputs, for resume records: its backend, options and either its hub id
    (and pretrained tag) or a hash of its local weights — never the folder it is installed in, so a run
    resumes from another checkout or environment of the same models.

    >>> model_identity(MODELS.get("clip-vit-b-32"))
    {'backend': 'open_clip', 'checkpoint': 'ViT-B-32', 'pretrained': 'openai'}
    """
    out: dict[str, Any] = {"backend": spec.backend}
    for key, value in (("checkpoint", spec.checkpoint), ("pretrained", spec.pretrained)):
        if value is None:
            continue
        local = _local_path(value)
        if local is None:
            out[key] = value
        else:
            out[f"{key}_sha256"] = weights_digest(local)
    if spec.options:
        out["options"] = dict(spec.options)
    return out


def reward_setup(
    spec: PresetSpec, weights: Mapping[str, float], only: list[str] | None = None
) -> dict[str, Any]:
    """The resolved reward of a preset for resume records: per component its reward, weight, options and model identity."""
    comps: dict[str, Any] = {}
    for c in spec.components:
        if only is not None and c.name not in only:
            continue
        entry: dict[str, Any] = {
            "reward": c.reward,
            "weight": weights.get(c.name, c.weight),
            "options": dict(c.options),
        }
        if c.model:
            entry["model"] = model_identity(model_spec(c.model, spec))
        comps[c.name] = entry
    return comps

"""Whether a loaded module already holds a checkpoint's weights, so one copy can serve both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def weight_files(name: str) -> list[Path] | None:
    """The safetensors files of a local folder or a locally cached hub checkpoint (``None``: not on disk)."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        index = folder / "model.safetensors.index.json"
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return [folder / s for s in shards]
        files = sorted(folder.glob("*.safetensors"))
        return files or None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    try:
        index = try_to_load_from_cache(name, "model.safetensors.index.json")
        if isinstance(index, str):
            shards = sorted(set(json.loads(Path(index).read_text())["weight_map"].values()))
            paths = [try_to_load_from_cache(name, s) for s in shards]
            return [Path(p) for p in paths] if all(isinstance(p, str) for p in paths) else None
        single = try_to_load_from_cache(name, "model.safetensors")
    except (ValueError, OSError):  # not a repo id (e.g. a missing local path)
        return None
    return [Path(single)] if isinstance(single, str) else None


def weights_differ(module: Any, name: str) -> str | None:
    """``None`` when every tensor of checkpoint ``name`` equals ``module``'s, bit for bit; else the first difference.

    Tensors are read one at a time (peak memory: the largest tensor), compared at the module's
    dtype and back, so a bf16 checkpoint equals a bf16 module holding the same values. Every
    module parameter must be covered, except those tied to a covered one.
    """
    import torch
    from safetensors import safe_open

    files = weight_files(name)
    if not files:
        return f"{name}: no local safetensors files to compare"
    state = module.state_dict(keep_vars=True)
    covered: set[int] = set()
    seen_keys: set[str] = set()
    with torch.no_grad():
        for f in files:
            with safe_open(str(f), framework="pt") as handle:
                for key in handle.keys():
                    mine = state.get(key)
                    if mine is None:
                        return f"{name}: tensor {key} has no counterpart"
                    theirs = handle.get_tensor(key)
                    if tuple(theirs.shape) != tuple(mine.shape):
                        return f"{name}: {key} has shape {tuple(theirs.shape)}, not {tuple(mine.shape)}"
                    here = mine.detach().cpu()
                    if not torch.equal(theirs.to(here.dtype), here) or not torch.equal(
                        here.to(theirs.dtype), theirs
                    ):
                        return f"{name}: {key} differs"
                    covered.add(mine.data_ptr())
                    seen_keys.add(key)
    for key, tensor in module.named_parameters():
        if key not in seen_keys and tensor.data_ptr() not in covered:
            return f"{name}: has no tensor for {key}"
    return None

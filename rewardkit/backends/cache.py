"""Embedding cache keyed by model id and image content hash, in memory and optionally on disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor


class EmbeddingCache:
    """``(model_id, key) -> 1-D tensor``; with ``directory``, entries persist as safetensors files."""

    def __init__(self, directory: str | Path | None = None, max_items: int | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_items = max_items
        self._memory: dict[tuple[str, str], Tensor] = {}
        self.hits = 0
        self.misses = 0

    def _path(self, model_id: str, key: str) -> Path:
        assert self.directory is not None
        model_dir = hashlib.sha1(model_id.encode()).hexdigest()[:16]
        return self.directory / model_dir / f"{key}.safetensors"

    def get(self, model_id: str, key: str) -> Tensor | None:
        value = self._memory.get((model_id, key))
        if value is None and self.directory is not None:
            path = self._path(model_id, key)
            if path.is_file():
                from safetensors.torch import load_file

                value = load_file(str(path))["embedding"]
                self._remember(model_id, key, value)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, model_id: str, key: str, value: Tensor) -> None:
        value = value.detach().to("cpu").contiguous()
        self._remember(model_id, key, value)
        if self.directory is not None:
            from safetensors.torch import save_file

            path = self._path(model_id, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            os.close(fd)
            save_file({"embedding": value}, tmp)
            os.replace(tmp, path)

    def _remember(self, model_id: str, key: str, value: Tensor) -> None:
        if self.max_items is not None and len(self._memory) >= self.max_items:
            self._memory.pop(next(iter(self._memory)))
        self._memory[(model_id, key)] = value

    def __len__(self) -> int:
        return len(self._memory)


def encode_distinct(
    items: Sequence[Any],
    keys: Sequence[str],
    cache: EmbeddingCache,
    model_id: str,
    batch_size: int,
    encode: Callable[[list[Any]], Tensor],
) -> tuple[Tensor | None, list[int]]:
    """Encode each distinct key's item once (cache first); returns the stacked table and each input's row."""
    import torch

    from rewardkit.backends.base import batched, dedupe

    unique, index = dedupe(keys)
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    found = {k: cache.get(model_id, k) for k in unique}
    todo = [k for k in unique if found[k] is None]
    for sl in batched(len(todo), batch_size):
        chunk = todo[sl]
        for k, value in zip(chunk, encode([items[first[k]] for k in chunk])):
            cache.put(model_id, k, value)
            found[k] = value.detach().cpu()
    return (torch.stack([found[k] for k in unique]) if unique else None), index

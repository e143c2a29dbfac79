"""Shared backend plumbing: device and dtype, image keys, checkpoint resolution with offline errors."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rewardkit.errors import RewardkitError

if TYPE_CHECKING:
    import torch

DTYPES = {
    "fp32": "float32",
    "float32": "float32",
    "fp16": "float16",
    "float16": "float16",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
}


class CheckpointNotFoundError(RewardkitError):
    """A checkpoint is neither on disk nor reachable."""


def resolve_device(device: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise RewardkitError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RewardkitError(f"--device {device}: no CUDA GPU is available here; use --device cpu (or auto)")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RewardkitError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise RewardkitError(f"--device {device}: MPS is not available here; use --device cpu (or auto)")
    return dev


def resolve_dtype(dtype: str | torch.dtype = "fp32") -> torch.dtype:
    """``fp32``/``fp16``/``bf16`` (or a torch dtype) to a torch dtype."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise RewardkitError(f"unknown dtype {dtype!r}: use one of fp32, fp16, bf16")
    return getattr(torch, DTYPES[dtype])


def image_key(image: Any) -> str:
    """Cache key of an image as the models see it (:mod:`rewardkit.io.images`); a loaded image keeps its own."""
    key = getattr(image, "key", None)
    if isinstance(key, str):
        return key
    from rewardkit.io.images import load_image

    return load_image(image).key


def file_key(path: str | Path) -> str:
    """Cache key of an image file (the loader's: its version and the file's bytes)."""
    from rewardkit.io.images import file_key as bytes_key
    from rewardkit.io.images import read_image_file

    return bytes_key(read_image_file(path))


def processor_size(processor: Any) -> int:
    """The largest side a transformers image processor resizes or crops to."""
    sizes = []
    for attr in ("size", "crop_size"):
        value = getattr(processor, attr, None)
        if isinstance(value, int):
            sizes.append(value)
        elif value is not None:
            items = value.items() if hasattr(value, "items") else vars(value).items()
            sizes += [v for _, v in items if isinstance(v, int)]
    return max(sizes, default=224)


def dedupe(keys: Sequence[str]) -> tuple[list[str], list[int]]:
    """Unique keys in first-seen order and, for every input, the index of its unique key."""
    order: dict[str, int] = {}
    index = [order.setdefault(k, len(order)) for k in keys]
    return list(order), index


def hub_offline() -> bool:
    """True when the user asked for offline mode (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub endpoint accepts a TCP connection within ``timeout`` seconds."""
    if hub_offline():
        return False
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parsed = urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return os.path.join(os.environ.get("HF_HOME", "~/.cache/huggingface"), "hub")


def missing_checkpoint(name: str, looked: str | None = None) -> CheckpointNotFoundError:
    """The one-line error for a checkpoint that is not on disk and cannot be fetched."""
    reason = "offline mode is on (HF_HUB_OFFLINE)" if hub_offline() else "the hub cannot be reached"
    where = looked or f"the Hugging Face cache {hub_cache_dir()}"
    return CheckpointNotFoundError(
        f"checkpoint {name!r} is not on disk (looked in {where}) and {reason}; "
        f"pre-download it on a connected machine with `huggingface-cli download {name}` "
        "and point HF_HOME at that cache, or pass a local path"
    )


def load_hf(cls: Any, name: str, **kwargs: Any) -> Any:
    """``cls.from_pretrained(name)`` from a local folder or the cache, else from the hub if reachable.

    Never retries for minutes: the cache is tried first, and the hub only when a quick
    connection check succeeds. ``trust_remote_code`` is never set.
    """
    kwargs.pop("trust_remote_code", None)
    _quiet_transformers()
    if Path(name).expanduser().is_dir():
        try:
            return cls.from_pretrained(str(Path(name).expanduser()), **kwargs)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise RewardkitError(
                f"{name}: not a loadable {cls.__name__} checkpoint ({' '.join(str(exc).split())[:200]})"
            ) from None
    if Path(name).expanduser().exists():
        raise RewardkitError(
            f"{name!r} is a file; a transformers checkpoint is a folder written by save_pretrained"
        )
    try:
        return cls.from_pretrained(name, local_files_only=True, **kwargs)
    except OSError:
        if not hub_reachable():
            raise missing_checkpoint(name) from None
    return cls.from_pretrained(name, **kwargs)


def batched(n: int, size: int) -> list[slice]:
    """Slices that cover ``range(n)`` in chunks of ``size``."""
    size = max(1, int(size))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _quiet_transformers() -> None:
    """No per-load weight progress bars: rewardkit shows its own progress."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass

"""``rewardkit env``: the facts a bug report needs."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess

from rich.console import Console
from rich.table import Table

PACKAGES = ("torch", "torchvision", "transformers", "open_clip_torch", "accelerate", "peft", "pycocoevalcap")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        return "not found (METEOR and SPICE need it)"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=10)
        first = (out.stderr or out.stdout).strip().splitlines()
        return f"{java} ({first[0]})" if first else java
    except (OSError, subprocess.SubprocessError):
        return f"{java} (did not run)"


def collect_env() -> dict[str, str]:
    """Versions of Python and the key packages, the device, CUDA and Java."""
    from rewardkit import __version__

    info = {"rewardkit": __version__, "python": platform.python_version(), "platform": platform.platform()}
    info.update({name: _version(name) for name in PACKAGES})
    try:
        import torch

        cuda = torch.cuda.is_available()
        info["cuda available"] = str(cuda)
        info["device"] = torch.cuda.get_device_name(0) if cuda else "cpu"
        info["torch threads"] = str(torch.get_num_threads())
    except ImportError:
        info["cuda available"] = "unknown (torch not installed)"
    info["java"] = _java()
    return info


def render_env(info: dict[str, str]) -> None:
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(key, value)
    Console().print(table)

"""Running ``python -m rewardkit`` in a subprocess, alone or as several processes under torch.distributed.run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def env() -> dict[str, str]:
    """The test environment for a child process: offline, and this checkout importable."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def command(*args: object, nproc: int | None = None, port: int = 29533) -> list[str]:
    """``python -m rewardkit ARGS`` (under ``torch.distributed.run`` when ``nproc`` is given)."""
    launcher = (
        ["-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port", str(port)]
        if nproc
        else []
    )
    return [sys.executable, *launcher, "-m", "rewardkit", *map(str, args)]


def run(
    *args: object, nproc: int | None = None, port: int = 29533, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run it to the end, capturing text output."""
    return subprocess.run(
        command(*args, nproc=nproc, port=port), capture_output=True, text=True, env=env(), timeout=timeout
    )

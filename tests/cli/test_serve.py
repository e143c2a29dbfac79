"""``rewardkit serve`` options: a busy port is refused in one line before any model loads."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_serve_refuses_a_busy_port_in_one_line_before_loading():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        if port < 1024:
            pytest.skip("the OS gave a privileged port")
        run = _cli("serve", "--preset", "toy", "--port", str(port))
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "another --port" in lines[0], run.stderr

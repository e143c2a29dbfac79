"""How the command ends: option mistakes are one line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.parametrize(
    "args,named",
    [
        (["score", "x.jsonl", "--workers", "-1"], "--workers"),
        (["score", "x.jsonl", "--batch-size", "abc"], "--batch-size"),
        (["score", "x.jsonl", "--bogus"], "--bogus"),
        (["nosuch"], "nosuch"),
        (["score"], "captions"),
    ],
)
def test_option_mistakes_are_one_line_and_exit_2(args, named):
    run = _cli(*args)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], run.stderr
    assert "Traceback" not in run.stderr

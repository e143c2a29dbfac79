"""The README's TRL and own-loop snippets run as written, and examples/trl_grpo.py runs GRPO offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import launch

ROOT = Path(__file__).resolve().parents[2]


def _snippets() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- readme-test: (\w+) -->\n```python\n(.*?)```", text, flags=re.S))


def test_readme_trl_and_loop_snippets_run():
    snippets = _snippets()
    assert set(snippets) >= {"trl", "loop"}
    namespace: dict = {}
    exec(compile(snippets["trl"], "README.md:trl", "exec"), namespace)
    assert len(namespace["totals"]) == 1
    exec(compile(snippets["loop"], "README.md:loop", "exec"), namespace)
    returns, mask = namespace["returns"], namespace["mask"]
    first = int(mask[0].sum())
    assert returns[0, first - 1] == pytest.approx(1.5)  # the terminal reward on EOS
    assert returns[0, 0] == pytest.approx(0.5)  # the repeated "circle" is penalised at its token
    assert not mask[1].all() or int(mask[1].sum()) == mask.shape[1]


@pytest.mark.slow
def test_trl_grpo_example_runs_offline(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "trl_grpo.py"),
            "--max-steps",
            "2",
            "--out",
            str(tmp_path),
            "--report",
            str(tmp_path / "report.json"),
        ],
        capture_output=True,
        text=True,
        env=launch.env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["grpo_steps"] == 2
    assert {"rewards/toy/mean", "rewards/noeos/mean", "toy/itm", "toy/noeos"} <= set(report["grpo_logged"])
    check = report["trl_call_vs_score"]
    assert check["equal"] and check["max_abs_difference"] <= 1e-4
    assert 0 < sum(check["noeos_values"]) < check["n"]  # cut completions were penalised, finished ones not

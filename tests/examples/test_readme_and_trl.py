"""The README's TRL and own-loop snippets run as written, and examples/trl_grpo.py runs GRPO offline."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rewardkit.presets import load_preset
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
    logged, weights = namespace["logged"], namespace["reward"].weights
    assert [weights[p] for p in ("bad", "repeat", "noeos")] == [-1.0, -1.0, -1.0]  # VLRM Eq. 1
    # the caption "an image of a red circle", cut before EOS: 3 bad words, no repeat, no EOS
    assert (logged["toy/bad"], logged["toy/repeat"], logged["toy/noeos"]) == (3.0, 0.0, 1.0)
    assert namespace["totals"][0] == pytest.approx(sum(w * logged[f"toy/{c}"] for c, w in weights.items()))
    assert "BadPhrasePenalty(" not in snippets["trl"].split("#")[0]  # no penalty beside the preset
    exec(compile(snippets["loop"], "README.md:loop", "exec"), namespace)
    returns, mask = namespace["returns"], namespace["mask"]
    first = int(mask[0].sum())
    assert returns[0, first - 1] == pytest.approx(1.5)  # the terminal reward on EOS
    assert returns[0, 0] == pytest.approx(0.5)  # the repeated "circle" is penalised at its token
    assert not mask[1].all() or int(mask[1].sum()) == mask.shape[1]


def _example():
    spec = importlib.util.spec_from_file_location("trl_grpo", ROOT / "examples" / "trl_grpo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trl_example_passes_the_presets_penalties_once():
    from transformers import AutoTokenizer

    from rewardkit.registry import MODELS

    tokenizer = AutoTokenizer.from_pretrained(MODELS.get("toy-opt").checkpoint)
    funcs = _example().reward_funcs(tokenizer)
    names = [c.name for f in funcs for c in getattr(f, "components", [f])]
    for penalty in ("bad", "repeat", "noeos"):
        assert names.count(penalty) == 1, names
    assert [f.__name__ for f in funcs] == ["toy"]


@pytest.mark.slow
def test_trl_grpo_example_runs_offline_with_a_relative_out(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "trl_grpo.py"),
            "--max-steps",
            "2",
            "--out",
            "grpo_out",  # relative: the example once looked for grpo_out/grpo_out/check_images/0.png
            "--report",
            "report.json",
        ],
        capture_output=True,
        text=True,
        env=launch.env(),
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "grpo_out" / "check_images" / "0.png").is_file()
    assert "Warning" not in proc.stderr, proc.stderr[-3000:]  # transformers' notices are silenced
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["grpo_steps"] == 2
    # one reward function: the preset, logged with its components
    assert {k for k in report["grpo_logged"] if k.startswith("rewards/")} == {
        "rewards/toy/mean",
        "rewards/toy/std",
    }
    weights = report["penalties"]["weights"]
    assert [weights[p] for p in ("bad", "repeat", "noeos")] == [-1.0, -1.0, -1.0]  # VLRM Eq. 1
    assert set(weights) == {c.name for c in load_preset("toy").components}
    assert {f"toy/{c}" for c in weights} <= set(report["grpo_logged"])
    # each step's logged reward is the weighted sum of the logged components: every penalty once
    for reward, components in zip(report["grpo_reward"], report["grpo_components"]):
        assert reward == pytest.approx(sum(w * components[f"toy/{c}"] for c, w in weights.items()), abs=1e-4)
    check = report["trl_call_vs_score"]
    assert check["equal"] and check["max_abs_difference"] <= 1e-4
    # what GRPO sums over the example's reward functions equals `rewardkit score`, penalties firing
    assert check["grpo_sum_equal"] and check["grpo_reward_functions_vs_score_max_abs_difference"] <= 1e-4
    assert sum(check["penalty_counts"]["bad"]) > 0 and sum(check["penalty_counts"]["repeat"]) > 0
    assert 0 < sum(check["noeos_values"]) < check["n"]  # cut completions were penalised, finished ones not

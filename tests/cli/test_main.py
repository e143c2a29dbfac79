"""The command: --help, --version, models, console entry, and score's -o given as a link."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from rewardkit import __version__
from rewardkit.cli.main import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"rewardkit {__version__}"


def test_help_lists_env():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "env" in result.output


def test_console_script_module_entry():
    out = subprocess.run(
        [sys.executable, "-m", "rewardkit", "--version"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and __version__ in out.stdout


def test_models_lists_papers_checkpoints_and_presets():
    result = runner.invoke(app, ["models"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for text in [
        "ViT-g-14 / laion2b_s12b_b42k",
        "ViT-bigG-14 / laion2b_s39b_b160k",
        "ViT-B-32 / openai",
        "Salesforce/blip2-itm-vit-g",
        "Salesforce/blip2-itm-vit-g-coco",
        "facebook/opt-2.7b",
        "vlrm-rs",
        "esper",
        "clipscore",
        "0.3xphi[clip-vit-bigg-14]",
    ]:
        assert text in result.output


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_out_given_as_a_link_to_a_file_beside_it_writes_the_file(tmp_path):
    captions = tmp_path / "c.jsonl"
    captions.write_text(json.dumps({"id": 1, "caption": "an image of a red circle"}) + "\n")
    target = tmp_path / "target.jsonl"
    target.write_text("")
    link = tmp_path / "link.jsonl"
    link.symlink_to("target.jsonl")
    run = _cli("score", str(captions), "--rewards", "bad", "-o", str(link), "--quiet")
    assert run.returncode == 0, run.stderr
    assert link.is_symlink() and json.loads(target.read_text())["id"] == 1

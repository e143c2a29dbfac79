"""The CLI skeleton: --help, --version, env."""

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

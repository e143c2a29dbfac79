"""``rewardkit env``: versions for bug reports."""

from typer.testing import CliRunner

from rewardkit.cli.main import app

runner = CliRunner()


def test_env_prints_versions():
    result = runner.invoke(app, ["env"])
    assert result.exit_code == 0
    for key in [
        "python",
        "torch",
        "torchvision",
        "transformers",
        "open_clip_torch",
        "accelerate",
        "cuda available",
        "java",
    ]:
        assert key in result.output

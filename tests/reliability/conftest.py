"""Fixtures of the hostile-input tests: small captions files, a text-only preset, a CLI runner that checks the one-line rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests import tiny_models


def write_rows(path: Path, rows: list) -> Path:
    """One JSON row (or a raw string line) per line."""
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture()
def folder(tmp_path):
    """``imgs/0..3.png`` and ``captions.jsonl`` with 8 good rows."""
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(tiny_models.make_images(4)):
        im.save(tmp_path / "imgs" / f"{i}.png")
    rows = [
        {"id": f"r{i}", "image": f"imgs/{i % 4}.png", "caption": c}
        for i, c in enumerate(
            [
                "a red car",
                "a green shirt",
                "two dogs",
                "an image of a cat",
                "a cat",
                "the woman",
                "a bus",
                "a tree",
            ]
        )
    ]
    write_rows(tmp_path / "captions.jsonl", rows)
    return tmp_path


@pytest.fixture(scope="session")
def text_preset(tmp_path_factory):
    """The three text penalties: no model, fast."""
    path = tmp_path_factory.mktemp("preset") / "text.json"
    path.write_text(
        json.dumps(
            {"name": "text", "components": [{"reward": "bad"}, {"reward": "repeat"}, {"reward": "noeos"}]}
        )
    )
    return path


class Run:
    """A finished in-process CLI call."""

    def __init__(self, result) -> None:
        self.code = result.exit_code
        self.stderr = result.stderr
        self.stdout = result.stdout
        self.exception = result.exception

    def error_line(self) -> str:
        """The one error line (asserting there is exactly one, and no traceback)."""
        lines = [x for x in self.stderr.splitlines() if x.strip()]
        errors = [x for x in lines if x.startswith(("error:", "internal error:"))]
        assert "Traceback" not in self.stderr, self.stderr
        assert len(errors) == 1, self.stderr
        return re.sub(r"\s+", " ", errors[0])


def cli(*args) -> Run:
    """``rewardkit ARGS`` through ``main()`` (so errors become one line and an exit code, as for a user)."""
    import sys

    from rewardkit.cli import main as main_mod

    runner = CliRunner()
    old = sys.argv
    sys.argv = ["rewardkit", *map(str, args)]
    try:
        result = runner.invoke(_Main(main_mod), [], catch_exceptions=True)
    finally:
        sys.argv = old
    return Run(result)


class _Main:
    """A click-compatible wrapper so CliRunner runs ``rewardkit.cli.main.main`` with its error handling."""

    name = "rewardkit"

    def __init__(self, mod) -> None:
        self.mod = mod

    def main(self, args=None, prog_name=None, **kwargs):
        self.mod.main()

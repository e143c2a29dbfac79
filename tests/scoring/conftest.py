"""Fixtures of the scoring tests: the hostile-input ones shared with tests/reliability, and toy captions."""

import shutil
from pathlib import Path

from tests.reliability.conftest import folder, text_preset  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "toy"


def toy_captions(where: Path, n: int) -> Path:
    """The first ``n`` rows of the shipped toy captions, with their images, copied into ``where``."""
    lines = (EXAMPLES / "captions.jsonl").read_text().splitlines()[:n]
    (where / "captions.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copytree(EXAMPLES / "images", where / "images")
    return where / "captions.jsonl"

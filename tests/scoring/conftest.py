"""The hostile-input fixtures (a small captions folder, a text-only preset) shared with tests/reliability."""

from tests.reliability.conftest import folder, text_preset  # noqa: F401

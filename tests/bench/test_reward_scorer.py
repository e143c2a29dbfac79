"""The reward scorer: a PRESET:COMPONENT naming no component is one line."""

from __future__ import annotations

from tests.reliability.conftest import cli


def test_preset_component_errors_name_the_component(tmp_path):
    r = cli("bench", "--reward", "toy:itx", "--benchmark", "toy-foil", "--out", tmp_path, "-q")
    assert r.code == 2
    line = r.error_line()
    assert "preset 'toy' has no component 'itx'" in line and "itm, itc, ref, bad, repeat, noeos" in line

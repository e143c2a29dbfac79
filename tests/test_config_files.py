"""Config files as data: alias bombs and recursive aliases refused in one line, values checked against declared types."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rewardkit.config_files import (
    MAX_YAML_NODES,
    ConfigFileError,
    conforms,
    describe,
    load_yaml,
    read_mapping,
    type_error,
)


def billion_laughs() -> str:
    """The classic: each level aliases the previous one nine times (9**9 strings from ~400 bytes)."""
    names = "abcdefghi"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join([*lines, "components: [{reward: bad}]", "description: *i"]) + "\n"


def test_a_billion_laughs_preset_is_refused_before_anything_is_built(tmp_path):
    text = billion_laughs()
    assert len(text.encode()) < 450
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match="expand to more than 10,000 values") as err:
        read_mapping(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x\n  b: *x\n",  # a mapping inside itself
        "a: &x [1, *x]\n",  # a list inside itself
        "components:\n  - reward: bad\n    options: &o\n      phrases: *o\n",
    ],
)
def test_recursive_aliases_are_refused_with_their_line(text):
    with pytest.raises(ConfigFileError, match=r"f.yaml:\d+: a recursive YAML alias"):
        load_yaml(text, "f.yaml")


def test_small_aliases_still_work_and_count_their_expansion():
    assert load_yaml("w: &w 2.0\na: *w\nb: [*w, *w]\n", "f") == {"w": 2.0, "a": 2.0, "b": [2.0, 2.0]}
    wide = (
        "x: &x [" + ",".join(["1"] * 100) + "]\ny: [" + ",".join(["*x"] * (MAX_YAML_NODES // 100 + 1)) + "]\n"
    )
    with pytest.raises(ConfigFileError, match="more than"):
        load_yaml(wide, "f")


def test_not_a_mapping_and_invalid_files_are_one_line(tmp_path):
    for name, text, says in [
        ("l.yaml", "- a\n- b\n", "must hold a mapping"),
        ("bad.yaml", "a: [1\n", "not valid YAML"),
        ("bad.json", "{", "not valid JSON"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ConfigFileError, match=says) as err:
            read_mapping(path)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "hint", "fits"),
    [
        (1000, float, True),
        (1.5, float, True),
        ("1e3", float, False),
        (True, float, False),
        (float("nan"), float, False),
        (3, int, True),
        (True, int, False),
        ("x", str, True),
        (["a", "b"], Sequence[str], True),
        (["a", 1], Sequence[str], False),
        ("words.txt", Sequence[str] | str | Path | None, True),
        (5, Sequence[str] | str | Path | None, False),
        (None, str | None, True),
        ({"a": 1}, dict, True),
    ],
)
def test_conforms_checks_config_values_against_type_hints(value, hint, fits):
    assert conforms(value, hint) is fits


def test_describe_and_the_yaml_exponent_hint():
    assert describe(float | None) == "a number or null"
    assert describe(Sequence[str]) == "a list of strings"
    msg = str(type_error("weight", "1e3", "a number"))
    assert "weight must be a number, not '1e3'" in msg and "1.0e+3" in msg
    assert "YAML" not in str(type_error("name", 5, "a string"))
    assert "YAML" not in str(type_error("weight", "1000", "a number"))  # quoted on purpose: no exponent rule
    # the hint is true: PyYAML reads these spellings as strings and the suggested ones as numbers
    data = load_yaml("a: 1e3\nb: 1.0e3\nc: 1.0e+3\nd: 1000\n", "f")
    assert data == {"a": "1e3", "b": "1.0e3", "c": 1000.0, "d": 1000}

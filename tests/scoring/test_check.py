"""The check pass: option mistakes are one line before anything loads; every row is counted, bad ones too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardkit.errors import RewardkitError
from rewardkit.scoring.check import check_config, check_input, default_out
from rewardkit.scoring.plan import Plan, ScoreConfig


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"on_error": "ignore"}, "--on-error must be 'fail' or 'skip', not 'ignore'"),
        ({"batch_size": 0}, "--batch-size must be at least 1, not 0"),
        ({"rewards": []}, "--rewards names no component"),
        ({"captions": Path("-"), "resume": True}, "--resume cannot be used with standard input"),
    ],
)
def test_option_mistakes_are_one_line(tmp_path, change, message):
    config = ScoreConfig(captions=tmp_path / "c.jsonl", out=tmp_path / "o.jsonl")
    for key, value in change.items():
        setattr(config, key, value)
    with pytest.raises(RewardkitError, match=message):
        check_config(config)


def test_the_out_file_defaults_beside_the_captions():
    assert default_out(Path("d/caps.jsonl")) == Path("d/caps.scores.jsonl")
    assert default_out(Path("d/caps.jsonl.gz")) == Path("d/caps.scores.jsonl")
    with pytest.raises(RewardkitError, match="needs -o"):
        default_out(Path("-"))


def test_rows_and_bad_rows_are_counted_before_any_model_loads(tmp_path):
    rows = [
        {"id": "a", "caption": "x"},
        {"id": "b"},
        {"id": "c", "caption": "y"},
        {"id": "a", "caption": "z"},
    ]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = ScoreConfig(
        captions=tmp_path / "c.jsonl",
        out=tmp_path / "o.jsonl",
        preset="toy",
        rewards=["bad"],
        on_error="skip",
    )
    found = check_input(config, Plan(config))
    assert (found.rows, found.errors, found.keep) == (2, 2, 0)  # a missing caption and a repeated id
    config.on_error = "fail"
    with pytest.raises(RewardkitError, match=r"c\.jsonl:2 \(id 'b'\)"):
        check_input(config, Plan(config))

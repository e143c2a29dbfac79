"""OUT's lines: JSON any reader parses back, with the characters some readers split lines on escaped."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.scoring.output import jsonl_bytes, jsonl_line, sidecar

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), _VALUES, max_size=5))
def test_lines_parse_back_and_hold_no_line_break_readers_split_on(record):
    for line in (jsonl_line(record), jsonl_bytes(record).decode("utf-8")):
        assert line.endswith("\n") and json.loads(line) == record
        assert len(line[:-1].splitlines()) <= 1  # str.splitlines splits on U+0085, U+2028, U+2029 too


def test_sidecars_sit_beside_out():
    assert sidecar(Path("d/o.jsonl"), ".summary.json") == Path("d/o.summary.json")
    assert sidecar(Path("d/o.out"), ".meta.json") == Path("d/o.out.meta.json")

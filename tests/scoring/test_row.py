"""A row's identity: ids as text, and a fingerprint that changes with everything deciding its scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardkit.scoring.row import Row, RowError, key_digest, resolve_image, row_key


def test_ids_are_text_so_one_and_quoted_one_are_the_same_row():
    assert row_key(1) == row_key("1") == "1"
    assert key_digest("1") == key_digest(row_key(1)) and key_digest("1") != key_digest("2")
    assert len(key_digest("x")) == 8


def _row(line=1, row_id="a", **change):
    fields = {"caption": "a dog", "image": Path("/i/a.png"), "references": ["r"], "style": "s"}
    fields.update({k: v for k, v in change.items() if k != "eos"})
    return Row(line, row_id, extra={"ended_with_eos": change.get("eos", True)}, **fields)


def test_the_fingerprint_changes_with_each_field_that_decides_the_scores():
    variants = [
        _row(caption="a cat"),
        _row(image=Path("/i/b.png")),
        _row(references=["q"]),
        _row(references=None),
        _row(style="t"),
        _row(eos=False),
    ]
    prints = {_row().fingerprint(), *(v.fingerprint() for v in variants)}
    assert len(prints) == 1 + len(variants)
    assert _row(7, "zz").fingerprint() == _row().fingerprint()  # the line and id are not what is scored
    # fields are length-prefixed: moving a character between caption and reference is another row
    assert (
        Row(1, "a", "ab", references=["c"]).fingerprint() != Row(1, "a", "a", references=["bc"]).fingerprint()
    )


def test_a_row_error_names_file_line_and_id():
    err = Row(3, "x", "c").error("caps.jsonl", "no caption")
    assert isinstance(err, RowError) and str(err) == "caps.jsonl:3 (id 'x'): no caption"
    assert err.record() == {"line": 3, "id": "x", "reason": "no caption"}


def test_image_paths_stay_under_the_root_unless_allowed(tmp_path):
    assert resolve_image(tmp_path, "a/b.png") == (tmp_path / "a" / "b.png").resolve()
    with pytest.raises(ValueError, match="outside the image root"):
        resolve_image(tmp_path, "../x.png")
    assert (
        resolve_image(tmp_path, "../x.png", allow_outside_root=True) == (tmp_path.parent / "x.png").resolve()
    )

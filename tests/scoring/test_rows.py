"""The captions-file reader: every bad row named by FILE:LINE, nothing else lost; fuzzed with hypothesis."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardkit.errors import RewardkitError
from rewardkit.scoring.rows import RowError, load_image, read_rows


@pytest.fixture()
def root(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "ok.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "adir.png").mkdir()
    return tmp_path


def _write(path, lines, raw=False):
    data = b"".join(lines) if raw else "".join(line + "\n" for line in lines).encode()
    path.write_bytes(data)
    return path


def _row(**kw):
    return json.dumps({"image": "ok.png", "caption": "a red square", **kw})


CASES = [
    ("{not json", "malformed JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({"image": "ok.png"}), "missing 'caption'"),
    (json.dumps({"image": "ok.png", "caption": 3}), "'caption' must be a string"),
    (json.dumps({"image": "ok.png", "caption": "a" * 20_000}), "20,000 characters"),
    (json.dumps({"caption": "a cat"}), "missing 'image'"),
    (json.dumps({"image": "../outside.png", "caption": "a cat"}), "outside the image root"),
    (json.dumps({"image": "ok.png", "caption": "a", "references": "a cat"}), "list of strings"),
    (json.dumps({"image": "ok.png", "caption": "a", "id": [1]}), "'id' must be"),
]


@pytest.mark.parametrize(("line", "reason"), CASES)
def test_each_bad_row_is_named_by_file_and_line(root, line, reason):
    path = _write(root / "c.jsonl", [_row(id="a"), line, _row(id="c")])
    rows, errors = read_rows(path)
    assert [r.id for r in rows] == ["a", "c"]
    assert len(errors) == 1
    assert errors[0].line == 2
    assert f"{path}:2" in str(errors[0]) and reason in str(errors[0])


def test_duplicate_ids_keep_the_first(root):
    rows, errors = read_rows(_write(root / "c.jsonl", [_row(id="x"), _row(id="y"), _row(id="x")]))
    assert [r.line for r in rows] == [1, 2]
    assert "duplicate id (first on line 1)" in str(errors[0]) and errors[0].line == 3


def test_bom_crlf_blank_lines_and_line_number_ids(root):
    data = [b"\xef\xbb\xbf" + _row().encode() + b"\r\n", b"\r\n", _row(caption="a dog").encode() + b"\r\n"]
    rows, errors = read_rows(_write(root / "c.jsonl", data, raw=True))
    assert not errors
    assert [(r.id, r.caption) for r in rows] == [(1, "a red square"), (3, "a dog")]


def test_non_utf8_line(root):
    rows, errors = read_rows(
        _write(root / "c.jsonl", [_row().encode() + b"\n", b'{"caption": "caf\xe9"}\n'], raw=True)
    )
    assert len(rows) == 1 and errors[0].line == 2 and "not valid UTF-8" in errors[0].reason


def test_outside_root_allowed_on_request(root):
    sub = root / "sub"
    sub.mkdir()
    path = _write(sub / "c.jsonl", [_row(image="../ok.png")])
    assert read_rows(path)[1][0].reason.startswith("image path '../ok.png' resolves outside")
    rows, errors = read_rows(path, allow_outside_root=True)
    assert not errors and rows[0].image == (root / "ok.png").resolve()


def test_empty_file_and_missing_file(root):
    with pytest.raises(RewardkitError, match="empty file"):
        read_rows(_write(root / "e.jsonl", ["", "  "]))
    with pytest.raises(RewardkitError, match="no such file"):
        read_rows(root / "nope.jsonl")


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("missing.png", "not found"),
        ("corrupt.png", "corrupt"),
        ("text.png", "not a readable image"),
        ("adir.png", "is a directory"),
    ],
)
def test_image_problems(root, image, reason):
    path = _write(root / "c.jsonl", [_row(image=image)])
    rows, _ = read_rows(path)
    with pytest.raises(RowError, match=reason) as exc:
        load_image(rows[0], path)
    assert f"{path}:1" in str(exc.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.text(max_size=40).map(str.encode),
            st.just(b'{"caption": "x", "image": "ok.png"}'),
        ),
        max_size=8,
    )
)
def test_reader_never_crashes_and_accounts_for_every_line(root, chunks):
    path = root / "fuzz.jsonl"
    path.write_bytes(b"\n".join(c.replace(b"\n", b" ").replace(b"\r", b" ") for c in chunks))
    try:
        rows, errors = read_rows(path)
    except RewardkitError as exc:
        assert "empty file" in str(exc)
        return
    lines = sorted([r.line for r in rows] + [e.line for e in errors])
    expected = []
    for n, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        raw = raw[3:] if n == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            blank = not raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            blank = False
        if not blank:
            expected.append(n)
    assert lines == expected  # every non-blank line is a row or a named error, exactly once

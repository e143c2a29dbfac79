"""``rewardkit score`` against hostile rows: every failure on one row is that row's error, never the run's."""

from __future__ import annotations

import json
import os
import socket
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardkit.scoring.pipeline import ScoreConfig, score_file
from rewardkit.scoring.rows import load_image, read_rows
from tests.reliability.conftest import cli, read_jsonl, write_rows


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width x height`` (no pixel data to speak of)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in ((b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\0" * 64)), (b"IEND", b"")):
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return out


HOSTILE = [
    ("deep", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ("bigint", '{"id": ' + "9" * 5000 + ', "image": "imgs/0.png", "caption": "a cat"}', "malformed JSON"),
    (
        "surrogate id",
        '{"id": "x\\ud800", "image": "imgs/0.png", "caption": "a cat"}',
        "lone surrogate U+D800",
    ),
    (
        "surrogate caption",
        '{"id": "s", "image": "imgs/0.png", "caption": "a \\udfff cat"}',
        "lone surrogate U+DFFF",
    ),
    (
        "surrogate ref",
        '{"id": "t", "image": "imgs/0.png", "caption": "a", "references": ["\\ud800"]}',
        "lone surrogate",
    ),
    ("huge id", json.dumps({"id": 10**30, "image": "imgs/0.png", "caption": "a"}), "too large"),
    (
        "eos flag",
        json.dumps({"id": "e", "image": "imgs/0.png", "caption": "a", "ended_with_eos": "yes"}),
        "true or false",
    ),
]


@pytest.mark.parametrize(("case", "line", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_hostile_row_is_a_row_error_and_the_rest_is_scored(folder, text_preset, case, line, reason):
    path = folder / "captions.jsonl"
    lines = path.read_text().splitlines()
    lines.insert(2, line)
    path.write_text("\n".join(lines) + "\n")
    out = folder / "out.jsonl"
    run = cli("score", path, "--preset", text_preset, "-o", out, "--on-error", "skip", "-q")
    assert run.code == 0, run.stderr
    assert [r["id"] for r in read_jsonl(out)] == [f"r{i}" for i in range(8)]
    errors = read_jsonl(folder / "out.errors.jsonl")
    assert [e["line"] for e in errors] == [3] and reason in errors[0]["reason"]
    failing = cli("score", path, "--preset", text_preset, "-o", folder / "fail.jsonl", "-q")
    assert failing.code == 2
    assert f"{path}:3" in failing.error_line() and reason in failing.error_line()


@pytest.fixture()
def odd_images(folder):
    (folder / "imgs" / "bomb.png").write_bytes(_png_header(20000, 20000))
    (folder / "imgs" / "big.png").write_bytes(_png_header(10000, 10000))  # under Pillow's error, over our cap
    os.mkfifo(folder / "imgs" / "fifo.png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "imgs" / "sock.png"))
    yield folder
    sock.close()


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("imgs/bomb.png", "over the cap"),
        ("imgs/big.png", "over the cap"),
        ("imgs/fifo.png", "not a regular file"),
        ("imgs/sock.png", "not a regular file"),
    ],
)
def test_bombs_fifos_and_sockets_are_row_errors_without_hanging(odd_images, image, reason):
    path = write_rows(odd_images / "c.jsonl", [{"id": "a", "image": image, "caption": "a cat"}])
    rows, errors = read_rows(path)
    assert not errors
    with pytest.raises(Exception, match=reason) as exc:
        load_image(rows[0], path)
    assert f"{path}:1 (id 'a')" in str(exc.value)


def test_device_files_are_refused_too(folder):
    path = write_rows(folder / "c.jsonl", [{"id": "a", "image": "/dev/zero", "caption": "a cat"}])
    rows, _ = read_rows(path, allow_outside_root=True)
    with pytest.raises(Exception, match="not a regular file"):
        load_image(rows[0], path)


def test_scoring_with_a_fifo_bomb_and_socket_ends_with_row_errors(odd_images, preset_file):
    path = odd_images / "captions.jsonl"
    with open(path, "a") as fh:
        for i, name in enumerate(["bomb", "fifo", "sock"]):
            fh.write(json.dumps({"id": f"x{i}", "image": f"imgs/{name}.png", "caption": "a cat"}) + "\n")
    out = odd_images / "out.jsonl"
    run = cli(
        "score", path, "--preset", preset_file, "-o", out, "--on-error", "skip", "--rewards", "itm,bad", "-q"
    )
    assert run.code == 0, run.stderr
    assert len(read_jsonl(out)) == 8
    assert [e["id"] for e in read_jsonl(odd_images / "out.errors.jsonl")] == ["x0", "x1", "x2"]


def test_captions_file_that_is_a_fifo_is_refused(folder, text_preset):
    os.mkfifo(folder / "pipe.jsonl")
    run = cli("score", folder / "pipe.jsonl", "--preset", text_preset, "-q")
    assert run.code == 2 and "not a regular file" in run.error_line()


def test_ids_compare_as_text_and_messages_are_true(folder):
    rows = [
        {"id": 1, "image": "imgs/0.png", "caption": "a"},
        {"id": "1", "image": "imgs/0.png", "caption": "b"},
    ]
    _, errors = read_rows(write_rows(folder / "a.jsonl", rows))
    assert errors[0].line == 2 and 'ids compare as text: 1 and "1" are one id' in errors[0].reason
    rows = [{"image": "imgs/0.png", "caption": "a"}, {"id": 1, "image": "imgs/0.png", "caption": "b"}]
    _, errors = read_rows(write_rows(folder / "b.jsonl", rows))
    assert "line 1 has no id and is keyed by its line number" in errors[0].reason
    rows = [{"id": 2, "image": "imgs/0.png", "caption": "a"}, {"image": "imgs/0.png", "caption": "b"}]
    _, errors = read_rows(write_rows(folder / "c.jsonl", rows))
    assert "this row has no id and is keyed by its line number 2, which line 1 uses" in errors[0].reason


def test_empty_references_are_named_in_the_summary_notes(folder, text_preset):
    path = write_rows(
        folder / "c.jsonl",
        [{"id": "a", "image": "imgs/0.png", "caption": "a cat", "references": []}],
    )
    out = folder / "o.jsonl"
    assert cli("score", path, "--preset", text_preset, "-o", out, "-q").code == 0
    summary = json.loads((folder / "o.summary.json").read_text())
    assert "coco" not in summary
    assert any("empty 'references' list" in n and "left out" in n for n in summary["notes"])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8,
)
ROW_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(), st.text(max_size=8), JSON_VALUES),
        "caption": st.one_of(st.text(max_size=30), JSON_VALUES),
        "image": st.sampled_from(["imgs/0.png", "imgs/9.png", "../x.png", "imgs", ""]) | st.text(max_size=8),
        "references": st.one_of(st.lists(st.text(max_size=10), max_size=3), JSON_VALUES),
        "ended_with_eos": JSON_VALUES,
        "style": JSON_VALUES,
    },
)
LINE = st.one_of(
    st.binary(max_size=60),
    ROW_LIKE.map(lambda d: json.dumps(d).encode()),
    st.text(max_size=30).map(lambda t: json.dumps({"id": t, "image": "imgs/0.png", "caption": t}).encode()),
    st.just(b'{"caption": "a \\ud800", "image": "imgs/0.png"}'),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, min_size=1, max_size=10))
def test_fuzz_every_line_is_scored_or_a_row_error_and_the_run_never_raises(folder, text_preset, lines):
    path = folder / "fuzz.jsonl"
    path.write_bytes(b"\n".join(x.replace(b"\n", b" ").replace(b"\r", b" ") for x in lines) + b"\n")
    out = folder / "fuzz.out.jsonl"
    non_blank = []
    for n, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
        raw = raw[3:] if n == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            if not raw.decode("utf-8").strip():
                continue
        except UnicodeDecodeError:
            pass
        non_blank.append(n)
    if not non_blank:
        return
    config = ScoreConfig(
        captions=path, out=out, preset=str(text_preset), on_error="skip", batch_size=3, summary=False
    )
    result = score_file(config)
    scored = read_jsonl(out)
    rows, _ = read_rows(path, needs_image=False)
    by_key = {r.key: r.line for r in rows}
    lines_scored = sorted(
        by_key[str(rec["id"]) if not isinstance(rec["id"], str) else rec["id"]] for rec in scored
    )
    lines_errors = sorted(e.line for e in result.errors)
    assert sorted(lines_scored + lines_errors) == non_blank

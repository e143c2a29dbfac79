"""The streaming score pipeline: outputs that are not regular files, inputs changed under a run, checks before models load,
OUT written once in input order with a compact resume record, echoed captions, the summary's stages, SIGTERM;
empty captions are captions: read, scored, counted, and the COCO metrics are pycocoevalcap's with them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from rewardkit.functional import is_empty_caption
from rewardkit.scoring.output import FINGERPRINT
from rewardkit.scoring.pipeline import ScoreConfig, score_file
from rewardkit.scoring.rows import read_rows
from tests import launch
from tests.functional.ptb_java import have_java
from tests.reliability.conftest import cli, read_jsonl, write_rows


def _score(folder, preset, *extra, out=None):
    return cli(
        "score",
        folder / "captions.jsonl",
        "--preset",
        preset,
        "-o",
        out or folder / "out.jsonl",
        "-q",
        *extra,
    )


def test_outputs_that_are_not_regular_files_are_refused_before_anything_is_written(
    folder, text_preset, tmp_path
):
    run = _score(folder, text_preset, out=Path("/dev/null"))
    assert run.code == 2 and "/dev/null: is a device" in run.error_line()
    assert Path("/dev/null").is_char_device()
    os.mkfifo(folder / "fifo.jsonl")
    run = _score(folder, text_preset, out=folder / "fifo.jsonl")
    assert run.code == 2 and "fifo.jsonl: is a FIFO" in run.error_line()
    # a sidecar that is a socket, or a symlink leading out of the output folder: OUT is not even created
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.summary.json"))
    try:
        run = _score(folder, text_preset, out=folder / "s.jsonl")
        assert run.code == 2 and "s.summary.json: is a socket" in run.error_line()
        assert not (folder / "s.jsonl").exists()
    finally:
        sock.close()
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("keep me")
    (folder / "sub").mkdir()
    (folder / "sub" / "l.jsonl").symlink_to(outside)
    run = _score(folder, text_preset, out=folder / "sub" / "l.jsonl")
    assert run.code == 2 and "outside the output folder" in run.error_line()
    assert outside.read_text() == "keep me"
    (folder / "dev.jsonl").symlink_to("/dev/null")
    run = _score(folder, text_preset, out=folder / "dev.jsonl")
    assert run.code == 2 and "dev.jsonl" in run.error_line()


def test_a_missing_file_or_bad_row_is_answered_before_any_model_loads(folder, tmp_path):
    preset = tmp_path / "p.json"  # a model that would fail to load, late, with another message
    preset.write_text(
        json.dumps(
            {
                "models": {"m": {"backend": "open_clip", "checkpoint": f"local-dir:{tmp_path / 'nope'}"}},
                "components": [{"name": "clip", "reward": "clip", "model": "m"}],
            }  # fmt: skip
        )
    )
    run = cli("score", folder / "missing.jsonl", "--preset", preset, "-o", folder / "o.jsonl", "-q")
    assert run.code == 2 and "missing.jsonl: no such file" in run.error_line()
    path = write_rows(folder / "c.jsonl", [{"id": 1, "image": "imgs/0.png", "caption": "a"}, "{oops"])
    run = cli("score", path, "--preset", preset, "-o", folder / "o.jsonl", "-q")
    assert run.code == 2 and f"{path}:2: malformed JSON" in run.error_line()
    path = write_rows(folder / "d.jsonl", [{"id": 1, "image": "imgs/nothere.png", "caption": "a"}])
    run = cli("score", path, "--preset", preset, "-o", folder / "o.jsonl", "-q")
    assert run.code == 2 and "not found" in run.error_line() and "--image-root" in run.error_line()
    assert not (folder / "o.jsonl").exists()


def test_out_is_written_once_in_input_order_with_a_compact_resume_record(folder, text_preset):
    rows = [{"id": f"q{i}", "image": "imgs/0.png", "caption": f"a cat number {i}"} for i in range(50)]
    path = write_rows(folder / "many.jsonl", rows)
    out = folder / "out.jsonl"
    inodes = set()
    config = ScoreConfig(captions=path, out=out, preset=str(text_preset), batch_size=8)
    result = score_file(config, progress=lambda n: inodes.add(os.stat(out).st_ino))
    inodes.add(os.stat(out).st_ino)
    assert len(inodes) == 1  # appended while scoring, never rewritten
    got = read_jsonl(out)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    assert [(r["image"], r["caption"]) for r in got] == [(r["image"], r["caption"]) for r in rows]
    assert (folder / "out.fingerprints.bin").stat().st_size == 50 * FINGERPRINT.size
    meta = json.loads((folder / "out.meta.json").read_text())
    assert "rows" not in meta and meta["fingerprints"] == "out.fingerprints.bin"
    assert result.summary["n_scored"] == 50


def test_a_file_changed_under_the_run_is_refused(folder, text_preset):
    path = folder / "captions.jsonl"
    original = path.read_text()

    def swap(text):
        if text.startswith("loading"):  # after the check pass, before the rows are scored
            path.write_text(original.replace("a red car", "a blue bus"))

    config = ScoreConfig(captions=path, out=folder / "out.jsonl", preset=str(text_preset))
    with pytest.raises(Exception, match="changed while it was being scored"):
        score_file(config, stage=swap)
    assert not (folder / "out.summary.json").exists()


def test_resume_fills_gaps_and_merges_in_input_order(folder, preset_file):
    png = folder / "imgs" / "2.png"
    good = png.read_bytes()
    png.write_bytes(good[:60])
    args = ["--rewards", "itm,bad", "--batch-size", 3]
    assert _score(folder, preset_file, *args, "--on-error", "skip").code == 0
    assert [r["id"] for r in read_jsonl(folder / "out.jsonl")] == ["r0", "r1", "r3", "r4", "r5", "r7"]
    png.write_bytes(good)
    run = _score(folder, preset_file, *args, "--on-error", "skip", "--resume")
    assert run.code == 0, run.stderr
    assert [r["id"] for r in read_jsonl(folder / "out.jsonl")] == [f"r{i}" for i in range(8)]
    assert not list(folder.glob("out.part*"))
    fresh = _score(folder, preset_file, *args, out=folder / "fresh.jsonl")
    assert fresh.code == 0 and read_jsonl(folder / "fresh.jsonl") == read_jsonl(folder / "out.jsonl")


def test_text_rewards_with_a_broken_image_still_summarise_and_say_so(folder, preset_file):
    png = folder / "imgs" / "1.png"
    png.write_bytes(png.read_bytes()[:60])
    run = _score(folder, preset_file, "--rewards", "bad,repeat")
    assert run.code == 0, run.stderr
    summary = json.loads((folder / "out.summary.json").read_text())
    assert summary["n_unreadable_images"] == 2 and summary["n_images"] == 3
    note = next(n for n in summary["notes"] if "could not be read" in n)
    assert f"{folder / 'captions.jsonl'}:2 (id 'r1')" in note


def test_summary_table_says_pool_weights_and_hides_second_conventions(folder, preset_file):
    stages = []
    config = ScoreConfig(
        captions=folder / "captions.jsonl",
        out=folder / "o.jsonl",
        preset=str(preset_file),
        rewards=["itm", "bad"],
    )
    result = score_file(config, stage=stages.append)
    assert stages[0].startswith("loading") and "itm" in stages[0] and stages[1] == "scoring"
    assert any(s.startswith("computing CLIP metrics") for s in stages[2:])
    comps = result.summary["components"]
    assert comps["bad"]["weight"] == -1.0 and comps["itm"]["weight"] == 1.0
    contrib = {k: abs(comps[k]["weight"] * comps[k]["mean"]) for k in ("itm", "bad")}
    assert comps["itm"]["share"] == pytest.approx(contrib["itm"] / sum(contrib.values()))
    assert "CLIPScore_torchmetrics" in result.summary
    run = cli(
        "score",
        folder / "captions.jsonl",
        "--preset",
        preset_file,
        "--rewards",
        "itm,bad",
        "-o",
        folder / "t.jsonl",
    )
    assert run.code == 0
    text = " ".join(run.stdout.split())
    assert "over 4 images" in text and "share of total" in text and "CLIPScore_torchmetrics" not in text
    run = cli(
        "score", folder / "captions.jsonl", "--preset", preset_file, "--rewards", "itm,bad", "-o", folder / "t.jsonl",
        "--all-conventions",
    )  # fmt: skip
    assert "CLIPScore_torchmetrics" in run.stdout


def test_rewards_option_naming_nothing_is_one_line(folder, text_preset):
    run = _score(folder, text_preset, "--rewards", ",")
    assert run.code == 2 and "names no component" in run.error_line()


@pytest.mark.slow
def test_sigterm_is_one_line_keeps_rows_releases_the_lock_and_exits_143(folder, text_preset):
    rows = [{"id": f"q{i}", "caption": f"a cat and a dog number {i} near a tree"} for i in range(400_000)]
    path = write_rows(folder / "many.jsonl", rows)
    out = folder / "out.jsonl"
    cmd = launch.command("score", path, "--preset", text_preset, "-o", out, "-q", "--batch-size", 64)
    proc = subprocess.Popen(cmd, env=launch.env(), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 143 and len(lines) == 1 and lines[0].startswith("terminated (SIGTERM)"), err
    kept = read_jsonl(out)
    assert 0 < len(kept) < len(rows) and [r["id"] for r in kept] == [f"q{i}" for i in range(len(kept))]
    assert not (folder / "out.lock").exists()
    resumed = cli("score", path, "--preset", text_preset, "-o", out, "-q", "--batch-size", 64, "--resume")
    assert resumed.code == 0 and len(read_jsonl(out)) == len(rows)


def test_duplicates_found_by_the_check_pass_keep_file_order(folder, text_preset):
    rows = [{"id": f"d{i}", "caption": f"cap {i}"} for i in range(6)]
    path = write_rows(folder / "dups.jsonl", [*rows[:3], rows[1], *rows[3:], "{oops", rows[4]])
    out = folder / "o.jsonl"
    run = cli("score", path, "--preset", text_preset, "-o", out, "-q")
    assert run.code == 2 and f"{path}:4 (id 'd1'): duplicate id (first on line 2)" in run.error_line()
    assert not out.exists()
    run = cli("score", path, "--preset", text_preset, "-o", out, "-q", "--on-error", "skip")
    assert run.code == 0 and [r["id"] for r in read_jsonl(out)] == [r["id"] for r in rows]
    errors = read_jsonl(folder / "o.errors.jsonl")
    assert [(e["line"], e["id"]) for e in errors] == [(4, "d1"), (8, None), (9, "d4")]
    assert "first on line 6" in errors[2]["reason"]


def test_resume_of_an_out_holding_only_a_torn_line_starts_clean(folder, text_preset):
    out = folder / "out.jsonl"
    assert _score(folder, text_preset).code == 0
    out.write_text('{"id": "r0", "capt')  # killed while writing the first row
    (folder / "out.fingerprints.bin").write_bytes(b"")
    run = _score(folder, text_preset, "--resume")
    assert run.code == 0, run.stderr
    assert [r["id"] for r in read_jsonl(out)] == [f"r{i}" for i in range(8)]


def test_keys_that_are_not_read_are_named_in_the_summary(folder, text_preset):
    path = write_rows(
        folder / "k.jsonl", [{"id": 1, "caption": "a cat", "score_gt": 3}, {"id": 2, "caption": "a"}]
    )
    run = cli("score", path, "--preset", text_preset, "-o", folder / "k.out.jsonl", "-q")
    assert run.code == 0
    notes = json.loads((folder / "k.out.summary.json").read_text())["notes"]
    assert any("'score_gt' (first at row 1)" in n for n in notes)


# --------------------------------------------------------------------------- empty captions

REFS = [
    ["a red square on a white background.", "a large red square."],
    ["a blue circle in the top left.", "a small blue circle."],
    ["two green triangles.", "a pair of green triangles on gray."],
    ["a yellow star.", "a yellow star in the middle."],
    ["a black diamond at the bottom.", "a dark diamond."],
]
CAPTIONS = ["a red square.", "", "   ", "\u200b\u2063", "a dark diamond at the bottom."]


def _pycocoevalcap(captions, refs):
    """The toolkit's own numbers: Java PTBTokenizer, then its CIDEr-D, BLEU and ROUGE-L scorers."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    with contextlib.redirect_stdout(io.StringIO()):
        res = tok.tokenize({str(i): [{"caption": c}] for i, c in enumerate(captions)})
        gts = tok.tokenize({str(i): [{"caption": r} for r in rs] for i, rs in enumerate(refs)})
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"BLEU-{n}": b for n, b in enumerate(bleu, start=1)}
    out["CIDEr-D"] = Cider().compute_score(gts, res)[0]
    out["ROUGE-L"] = Rouge().compute_score(gts, res)[0]
    return out


def _write(path, captions, refs):
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "image": "none.png", "caption": c, "references": r}) + "\n"
            for i, (c, r) in enumerate(zip(captions, refs))
        ),
        encoding="utf-8",
    )
    return path


def test_blank_and_invisible_captions_are_rows_a_missing_caption_is_not(tmp_path):
    path = _write(tmp_path / "c.jsonl", CAPTIONS, REFS)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "x", "image": "none.png"}) + "\n")
    rows, errors = read_rows(path, needs_image=False)
    assert [r.caption for r in rows] == CAPTIONS
    assert len(errors) == 1 and "missing 'caption'" in str(errors[0]) and errors[0].line == 6
    assert [is_empty_caption(c) for c in CAPTIONS] == [False, True, True, True, False]


def test_empty_captions_are_scored_counted_and_the_coco_metrics_are_pycocoevalcaps(tmp_path):
    assert have_java(), "the reference numbers come from pycocoevalcap's Java tokenizer"
    path = _write(tmp_path / "c.jsonl", CAPTIONS, REFS)
    preset = tmp_path / "text.yaml"
    preset.write_text("name: text\ncomponents:\n  - reward: bad\n  - reward: repeat\n", encoding="utf-8")
    config = ScoreConfig(captions=path, out=tmp_path / "out.jsonl", preset=str(preset), device="cpu")
    result = score_file(config)
    assert not result.errors
    scored = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in scored] == [f"r{i}" for i in range(5)]
    summary = result.summary
    assert summary["n_scored"] == 5 and summary["empty_captions"] == 3
    assert any("3 empty captions" in n for n in summary["notes"])
    expected = _pycocoevalcap(CAPTIONS, REFS)
    for key, value in expected.items():
        assert summary["coco"][key] == pytest.approx(value, abs=1e-9), key
    # Leaving the empty rows out (what skipping them did) gives another, higher CIDEr-D.
    kept = [i for i, c in enumerate(CAPTIONS) if not is_empty_caption(c)]
    higher = _pycocoevalcap([CAPTIONS[i] for i in kept], [REFS[i] for i in kept])["CIDEr-D"]
    assert higher > summary["coco"]["CIDEr-D"] + 0.1

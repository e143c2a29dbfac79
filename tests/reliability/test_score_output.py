"""``rewardkit score`` outputs: unwritable OUT, disk full, two writers, resume against other input, stale files."""

from __future__ import annotations

import builtins
import errno
import json
import os
import signal
import subprocess
import time

import pytest

from rewardkit.scoring.lock import output_lock
from tests import launch
from tests.reliability.conftest import cli, read_jsonl, write_rows


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or p.name.endswith(".lock"))


def test_out_is_a_directory(folder, text_preset):
    (folder / "out.jsonl").mkdir()
    run = cli("score", folder / "captions.jsonl", "--preset", text_preset, "-o", folder / "out.jsonl", "-q")
    assert run.code == 2 and "is a directory" in run.error_line() and "out.jsonl" in run.error_line()


@pytest.mark.parametrize(("err", "says"), [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full")])
def test_unwritable_or_full_disk_mid_run_keeps_flushed_rows(folder, text_preset, monkeypatch, err, says):
    """The third batch's write fails: one line naming OUT, exit 2, two batches kept, no temp files."""
    out = folder / "out.jsonl"
    real_open = builtins.open

    class Failing:
        def __init__(self, fh):
            self.fh, self.writes = fh, 0

        def write(self, text):
            self.writes += 1
            if self.writes > 4:
                raise OSError(err, os.strerror(err))
            return self.fh.write(text)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        if str(file) == str(out) and "a" in mode:
            return Failing(fh)
        return fh

    monkeypatch.setattr(builtins, "open", fake_open)
    run = cli("score", folder / "captions.jsonl", "--preset", text_preset, "-o", out, "--batch-size", 2, "-q")
    monkeypatch.undo()
    assert run.code == 2
    line = run.error_line()
    assert str(out) in line and says in line
    assert [r["id"] for r in read_jsonl(out)] == ["r0", "r1", "r2", "r3"]
    assert _leftovers(folder) == []
    assert not (folder / "out.summary.json").exists()
    resumed = cli(
        "score",
        folder / "captions.jsonl",
        "--preset",
        text_preset,
        "-o",
        out,
        "--batch-size",
        2,
        "--resume",
        "-q",
    )
    assert resumed.code == 0 and len(read_jsonl(out)) == 8


def test_read_only_output_folder_is_one_line(folder, text_preset, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "open", refuse)
    run = cli(
        "score", folder / "captions.jsonl", "--preset", text_preset, "-o", folder / "ro" / "out.jsonl", "-q"
    )
    monkeypatch.undo()
    assert run.code == 2 and "read-only" in run.error_line()


def test_a_second_writer_is_refused_while_the_first_holds_out(folder, text_preset):
    out = folder / "out.jsonl"
    with output_lock(out):
        run = cli("score", folder / "captions.jsonl", "--preset", text_preset, "-o", out, "-q")
        assert run.code == 2
        assert "another rewardkit run is writing it (pid" in run.error_line()
        assert not out.exists()
    assert not (folder / "out.lock").exists()
    assert cli("score", folder / "captions.jsonl", "--preset", text_preset, "-o", out, "-q").code == 0


def test_a_stale_lock_of_a_dead_process_is_taken_over(folder, text_preset):
    out = folder / "out.jsonl"
    (folder / "out.lock").write_text("pid 999999 on elsewhere")  # left by a killed run: nobody holds it
    run = cli("score", folder / "captions.jsonl", "--preset", text_preset, "-o", out, "-q")
    assert run.code == 0 and len(read_jsonl(out)) == 8
    assert not (folder / "out.lock").exists()


@pytest.mark.slow
def test_two_processes_on_one_out_never_lose_rows(folder, preset_file):
    rows = [{"id": f"q{i}", "image": f"imgs/{i % 4}.png", "caption": f"a cat number {i}"} for i in range(200)]
    path = write_rows(folder / "many.jsonl", rows)
    out = folder / "out.jsonl"
    args = [
        "score",
        path,
        "--preset",
        preset_file,
        "--rewards",
        "itm,bad",
        "-o",
        out,
        "--batch-size",
        8,
        "-q",
    ]
    procs = [
        subprocess.Popen(launch.command(*args), env=launch.env(), stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "another rewardkit run is writing it" in err and "Traceback" not in err
    assert [r["id"] for r in read_jsonl(out)] == [r["id"] for r in rows]
    assert _leftovers(folder) == []


def _score(folder, preset, *extra, path=None, out=None):
    return cli(
        "score",
        path or folder / "captions.jsonl",
        "--preset",
        preset,
        "-o",
        out or folder / "out.jsonl",
        "-q",
        *extra,
    )


def test_resume_against_a_changed_row_is_refused(folder, text_preset):
    assert _score(folder, text_preset).code == 0
    path = folder / "captions.jsonl"
    rows = read_jsonl(path)
    rows[2]["caption"] = "a different caption"
    write_rows(path, rows)
    before = (folder / "out.jsonl").read_bytes()
    run = _score(folder, text_preset, "--resume")
    assert run.code == 2
    assert "id 'r2' (line 3) differs from the row that was scored" in run.error_line()
    assert (folder / "out.jsonl").read_bytes() == before


def test_resume_with_other_rewards_is_refused_saying_what_differs(folder, preset_file):
    out = folder / "out.jsonl"
    assert _score(folder, preset_file, "--rewards", "bad,repeat").code == 0
    run = _score(folder, preset_file, "--rewards", "bad,itm", "--resume")
    assert run.code == 2 and "reward setup differs at components." in run.error_line()
    assert {k for r in read_jsonl(out) for k in r} == {"id", "image", "caption", "bad", "repeat", "total"}


def test_resume_with_other_weights_in_a_preset_file_is_refused(folder, tmp_path):
    preset = tmp_path / "p.json"
    preset.write_text(json.dumps({"components": [{"reward": "bad", "weight": -1}]}))
    assert _score(folder, preset).code == 0
    preset.write_text(json.dumps({"components": [{"reward": "bad", "weight": -2}]}))
    run = _score(folder, preset, "--resume")
    assert run.code == 2 and "components.bad.weight (-1.0 then, -2.0 now)" in run.error_line()


def test_resume_of_out_without_meta_or_with_unknown_ids_is_refused(folder, text_preset):
    assert _score(folder, text_preset).code == 0
    (folder / "out.meta.json").unlink()
    run = _score(folder, text_preset, "--resume")
    assert run.code == 2 and "no out.meta.json" in run.error_line()
    assert _score(folder, text_preset).code == 0
    rows = read_jsonl(folder / "captions.jsonl")
    write_rows(folder / "captions.jsonl", rows[1:])
    run = _score(folder, text_preset, "--resume")
    assert run.code == 2 and "it holds id 'r0', which the captions file no longer has" in run.error_line()


def test_a_failed_rerun_leaves_no_summary_of_other_rows(folder, text_preset):
    assert _score(folder, text_preset).code == 0
    assert (folder / "out.summary.json").exists()
    with open(folder / "captions.jsonl", "a") as fh:
        fh.write("{broken\n")
    assert _score(folder, text_preset, "--batch-size", 2).code == 2
    # the refusal came before anything was written: the old run's files are intact and consistent
    summary = json.loads((folder / "out.summary.json").read_text())
    assert summary["n_scored"] == len(read_jsonl(folder / "out.jsonl")) == 8
    images = folder / "imgs" / "3.png"
    images.write_bytes(images.read_bytes()[:60])
    rows = read_jsonl(folder / "captions.jsonl.bak") if (folder / "captions.jsonl.bak").exists() else None
    lines = (folder / "captions.jsonl").read_text().splitlines()[:-1]
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
    from tests.reliability.conftest import cli as run_cli

    failing = run_cli(
        "score", folder / "captions.jsonl", "--preset", text_preset, "-o", folder / "out.jsonl", "-q"
    )
    assert failing.code == 0 and rows is None  # text rewards read no image: the run succeeds again


def test_summary_is_removed_when_a_rerun_fails_mid_run(folder, preset_file):
    out = folder / "out.jsonl"
    assert _score(folder, preset_file, "--rewards", "itm,bad", "--batch-size", 2).code == 0
    png = folder / "imgs" / "3.png"
    png.write_bytes(png.read_bytes()[:60])
    run = _score(folder, preset_file, "--rewards", "itm,bad", "--batch-size", 2)
    assert run.code == 2 and "corrupt" in run.error_line()
    assert [r["id"] for r in read_jsonl(out)] == ["r0", "r1", "r2"]
    assert not (folder / "out.summary.json").exists()


def test_resume_after_a_partial_batch_gives_phi_of_the_uninterrupted_run(folder, preset_file):
    full = folder / "full.jsonl"
    assert _score(folder, preset_file, "--rewards", "phi,bad", "--batch-size", 4, out=full).code == 0
    part = folder / "part.jsonl"
    assert _score(folder, preset_file, "--rewards", "phi,bad", "--batch-size", 4, out=part).code == 0
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:2]) + lines[2][:10])  # killed mid-batch: 2 rows and a torn one
    run = _score(folder, preset_file, "--rewards", "phi,bad", "--batch-size", 4, "--resume", out=part)
    assert run.code == 0
    assert read_jsonl(part) == read_jsonl(full)
    other = _score(folder, preset_file, "--rewards", "phi,bad", "--batch-size", 3, "--resume", out=part)
    assert other.code == 2 and "batch_size" in other.error_line()


@pytest.mark.slow
def test_sharded_run_without_resume_ignores_a_stale_out(folder, preset_file):
    out = folder / "out.jsonl"
    write_rows(out, [{"id": "stale", "itm": 1.0}])
    args = [
        "score",
        folder / "captions.jsonl",
        "--preset",
        preset_file,
        "--rewards",
        "itm,bad",
        "-o",
        out,
        "--batch-size",
        2,
        "-q",
    ]
    proc = launch.run(*args, nproc=2, port=29561)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["id"] for r in read_jsonl(out)] == [f"r{i}" for i in range(8)]


@pytest.mark.slow
def test_ctrl_c_says_interrupted_exits_130_and_keeps_rows(folder, preset_file):
    rows = [
        {"id": f"q{i}", "image": f"imgs/{i % 4}.png", "caption": f"a cat number {i}"} for i in range(3000)
    ]
    path = write_rows(folder / "many.jsonl", rows)
    out = folder / "out.jsonl"
    args = [
        "score",
        path,
        "--preset",
        preset_file,
        "--rewards",
        "itm,ref",
        "-o",
        out,
        "--batch-size",
        8,
        "-q",
    ]
    proc = subprocess.Popen(launch.command(*args), env=launch.env(), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 16):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    assert code == 130 and "interrupted" in err and "Traceback" not in err, err
    kept = read_jsonl(out)
    assert len(kept) >= 16 and [r["id"] for r in kept] == [f"q{i}" for i in range(len(kept))]
    assert _leftovers(folder) == []

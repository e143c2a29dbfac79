"""``rewardkit score`` end to end on tiny local models: outputs, summary, bad input, resume, sharding."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rewardkit.cli.main import app
from tests import launch, tiny_models

runner = CliRunner()
CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "an image of a cat",
    "a cat",
    "the woman",
]


@pytest.fixture()
def dataset(tmp_path):
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(tiny_models.make_images(4)):
        im.save(tmp_path / "imgs" / f"{i}.png")
    rows = [
        {
            "id": f"r{i}",
            "image": f"imgs/{i % 4}.png",
            "caption": c,
            "references": ["a red car on a road", "a cat"],
            "style": ["sns", "news"][i % 2],
        }
        for i, c in enumerate(CAPTIONS)
    ]
    path = tmp_path / "captions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _truncate(png):
    png.write_bytes(png.read_bytes()[:80])  # a PNG cut short, as an interrupted copy leaves it


def _score(args):
    return runner.invoke(app, ["score", *map(str, args)], catch_exceptions=False)


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_scores_every_row_and_writes_the_summary(dataset, preset_file):
    out = dataset.with_name("out.jsonl")
    result = _score([dataset, "--preset", preset_file, "-o", out, "--batch-size", 4])
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(6)]
    scores = {"itm", "ref", "phi", "clipscore", "bad", "repeat", "noeos", "total"}
    assert set(rows[0]) == {"id", "image", "caption", *scores}  # the row's image and caption echoed
    assert (rows[1]["image"], rows[1]["caption"]) == ("imgs/1.png", CAPTIONS[1])
    assert rows[3]["bad"] == 3.0  # "an image of"
    summary = json.loads(dataset.with_name("out.summary.json").read_text())
    assert summary["n_scored"] == 6 and summary["n_errors"] == 0
    assert set(summary["clip_recall"]) == {"R@1", "R@5", "R@10", "MRR"}
    assert summary["n_images"] == 4
    assert summary["components"]["bad"]["mean"] == pytest.approx(0.5)
    for key in ("CIDEr-D", "BLEU-1", "BLEU-4", "ROUGE-L"):
        assert key in summary["coco"]
    assert set(summary["esp"]["styles"]) == {"sns", "news"}
    assert "CLIPScore" in summary and "RefCLIPScore" in summary
    assert "CLIP Recall R@1" in result.output


def test_rewards_option_selects_components(dataset, preset_file):
    out = dataset.with_name("out.jsonl")
    args = [dataset, "--preset", preset_file, "-o", out, "--rewards", "bad,repeat", "--quiet", "--no-echo"]
    result = _score(args)
    assert result.exit_code == 0, result.output
    assert set(_rows(out)[0]) == {"id", "bad", "repeat", "total"}
    assert result.output.strip() == ""


def _cli(args):
    return launch.run("score", *args, timeout=300)


def test_bad_row_fails_with_one_line_and_no_traceback(dataset, preset_file):
    lines = dataset.read_text().splitlines()
    lines.insert(3, "{broken")
    dataset.write_text("\n".join(lines) + "\n")
    proc = _cli([dataset, "--preset", preset_file, "--quiet"])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert f"{dataset}:4: malformed JSON" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1


def test_corrupt_image_mid_run_keeps_rows_already_scored(dataset, preset_file):
    _truncate(dataset.parent / "imgs" / "3.png")
    out = dataset.with_name("out.jsonl")
    proc = _cli([dataset, "--preset", preset_file, "-o", out, "--batch-size", 2, "--quiet"])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{dataset}:4 (id 'r3'): image 'imgs/3.png' is corrupt" in proc.stderr
    # Φ is computed over a whole batch, so the batch holding the bad row is not written with it ...
    assert [r["id"] for r in _rows(out)] == ["r0", "r1"]
    # ... while per-caption rewards keep the rows before the bad one.
    proc = _cli(
        [dataset, "--preset", preset_file, "--rewards", "itm,bad", "-o", out, "--batch-size", 2, "-q"]
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [r["id"] for r in _rows(out)] == ["r0", "r1", "r2"]


def test_skip_lists_bad_rows_and_scores_the_rest(dataset, preset_file):
    _truncate(dataset.parent / "imgs" / "3.png")
    with open(dataset, "a") as fh:
        fh.write(json.dumps({"id": "r0", "image": "imgs/0.png", "caption": "dup"}) + "\n")
        fh.write(json.dumps({"id": "x", "image": "../../etc/passwd", "caption": "outside"}) + "\n")
        fh.write(json.dumps({"id": "y", "image": "imgs/missing.png", "caption": "gone"}) + "\n")
    out = dataset.with_name("out.jsonl")
    result = _score([dataset, "--preset", preset_file, "-o", out, "--on-error", "skip", "--quiet"])
    assert result.exit_code == 0
    assert [r["id"] for r in _rows(out)] == ["r0", "r1", "r2", "r4", "r5"]
    errors = _rows(dataset.with_name("out.errors.jsonl"))
    assert [(e["line"], e["id"]) for e in errors] == [(4, "r3"), (7, "r0"), (8, "x"), (9, "y")]
    assert "corrupt" in errors[0]["reason"] and "duplicate id" in errors[1]["reason"]
    assert "outside the image root" in errors[2]["reason"] and "not found" in errors[3]["reason"]
    assert json.loads(dataset.with_name("out.summary.json").read_text())["n_errors"] == 4


def test_unknown_preset_and_bad_options_are_one_line(dataset):
    proc = _cli([dataset, "--preset", "vlrn", "--quiet"])
    assert proc.returncode == 2 and "did you mean" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli([dataset, "--on-error", "ignore"])
    assert proc.returncode == 2 and "--on-error must be" in proc.stderr


def _big_dataset(tmp_path, n=240):
    (tmp_path / "imgs").mkdir(exist_ok=True)
    for i, im in enumerate(tiny_models.make_images(8)):
        im.save(tmp_path / "imgs" / f"{i}.png")
    words = "a red car man dog cat tree small large near the green".split()
    path = tmp_path / "big.jsonl"
    with open(path, "w") as fh:
        for i in range(n):
            cap = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(3 + i % 5))
            fh.write(json.dumps({"id": f"b{i}", "image": f"imgs/{i % 8}.png", "caption": cap}) + "\n")
    return path


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, preset_file):
    path = _big_dataset(tmp_path)
    full = tmp_path / "full.jsonl"
    assert _cli([path, "--preset", preset_file, "-o", full, "--batch-size", 4, "--quiet"]).returncode == 0
    out = tmp_path / "killed.jsonl"
    cmd = launch.command("score", path, "--preset", preset_file, "-o", out, "--batch-size", 4, "--quiet")
    proc = subprocess.Popen(cmd, env=launch.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 20):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = out.read_text().count("\n")
    assert 20 <= partial < 240, "the run was not interrupted mid-way"
    with open(out, "a") as fh:  # a torn line, as a crash mid-write leaves
        fh.write('{"id": "b999", "itm": 0.')
    proc = _cli([path, "--preset", preset_file, "-o", out, "--batch-size", 4, "--quiet", "--resume"])
    assert proc.returncode == 0, proc.stderr
    assert f"resumed: {partial} rows were already" in proc.stderr
    assert _rows(out) == _rows(full)


@pytest.mark.slow
def test_two_processes_shard_and_merge_in_input_order(tmp_path, preset_file):
    path = _big_dataset(tmp_path, n=30)
    single = tmp_path / "single.jsonl"
    assert _cli([path, "--preset", preset_file, "-o", single, "--batch-size", 4, "--quiet"]).returncode == 0
    out = tmp_path / "sharded.jsonl"
    proc = launch.run(
        "score", path, "--preset", preset_file, "-o", out, "--batch-size", 4, "--quiet", nproc=2, port=29533
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got, want = _rows(out), _rows(single)
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for a, b in zip(got, want):
        assert (a["image"], a["caption"]) == (b["image"], b["caption"])
        for key in set(b) - {"id", "image", "caption"}:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6)
    assert not list(tmp_path.glob("sharded.part*"))
    assert json.loads((tmp_path / "sharded.summary.json").read_text())["n_scored"] == 30

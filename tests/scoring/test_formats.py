"""Input formats: COCO results, .jsonl.gz, JSON arrays, CSV/TSV, Parquet and stdin all read as the same rows, errors named by place."""

from __future__ import annotations

import gzip
import io
import json
import subprocess

import pytest

from rewardkit.errors import RewardkitError
from rewardkit.scoring.rows import read_rows
from tests import launch, tiny_models
from tests.reliability.conftest import cli, read_jsonl, write_rows

CAPTIONS = ["a red car", "two dogs near a tree", "an image of a cat", "a man in a green shirt"]
REFS = [["a red car on a road", "a car"], ["dogs by a tree"], ["a cat", "a small cat"], ["a man", "a shirt"]]


@pytest.fixture()
def coco(tmp_path):
    """Four images, a COCO results file, its annotations file and the equivalent JSONL."""
    (tmp_path / "val").mkdir()
    names = [f"COCO_val2014_{i + 40:012d}.jpg" for i in range(4)]
    for name, im in zip(names, tiny_models.make_images(4)):
        im.save(tmp_path / "val" / name)
    results = [{"image_id": i + 40, "caption": c} for i, c in enumerate(CAPTIONS)]
    (tmp_path / "results.json").write_text(json.dumps(results))
    annotations = {
        "images": [{"id": i + 40, "file_name": n} for i, n in enumerate(names)],
        "annotations": [
            {"id": 100 * i + k, "image_id": i + 40, "caption": r}
            for i, refs in enumerate(REFS)
            for k, r in enumerate(refs)
        ],
    }
    (tmp_path / "captions_val2014.json").write_text(json.dumps(annotations))
    rows = [
        {"id": i + 40, "image": names[i], "caption": c, "references": REFS[i]} for i, c in enumerate(CAPTIONS)
    ]
    write_rows(tmp_path / "val" / "same.jsonl", rows)
    return tmp_path


def test_coco_results_with_annotations_score_as_the_equivalent_jsonl(coco, preset_file):
    args = ["--preset", preset_file, "--rewards", "itm,clipscore,bad", "-q"]
    plain = cli("score", coco / "val" / "same.jsonl", "-o", coco / "plain.jsonl", *args)
    assert plain.code == 0, plain.stderr
    run = cli(
        "score",
        coco / "results.json",
        "--annotations",
        coco / "captions_val2014.json",
        "--images",
        coco / "val",
        "-o",
        coco / "from_coco.jsonl",
        *args,
    )
    assert run.code == 0, run.stderr
    assert read_jsonl(coco / "from_coco.jsonl") == read_jsonl(coco / "plain.jsonl")
    a = json.loads((coco / "from_coco.summary.json").read_text())
    b = json.loads((coco / "plain.summary.json").read_text())
    assert a["coco"] == b["coco"] and a["clip_recall"] == b["clip_recall"] and a["n_images"] == 4
    assert a["CLIPScore"] == b["CLIPScore"]


def test_coco_results_without_annotations_find_images_by_number(coco):
    rows, errors = read_rows(coco / "results.json", image_root=coco / "val")
    assert not errors and [r.image.name for r in rows] == sorted(p.name for p in (coco / "val").glob("*.jpg"))
    assert [r.id for r in rows] == [40, 41, 42, 43] and rows[0].references is None
    (coco / "results.json").write_text(json.dumps([{"image_id": 7, "caption": "a cat"}]))
    _, errors = read_rows(coco / "results.json", image_root=coco / "val")
    assert "image_id 7: no file" in errors[0].reason and "--annotations" in errors[0].reason
    assert f"{coco / 'results.json'}[0]" in str(errors[0])


def test_gzip_csv_tsv_and_arrays_read_the_same_rows(tmp_path):
    rows = [
        {"id": "a", "image": "x.png", "caption": 'a "quoted", comma', "references": ["r one", "r|two"]},
        {"id": "b", "image": "y.png", "caption": "plain", "references": ["s"]},
    ]
    want = read_rows(write_rows(tmp_path / "c.jsonl", rows), needs_image=False)[0]
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "c.json").write_text(json.dumps(rows, indent=2))
    csv_text = 'id,image,caption,references\na,x.png,"a ""quoted"", comma","[""r one"", ""r|two""]"\nb,y.png,plain,s\n'
    (tmp_path / "c.csv").write_text(csv_text)
    (tmp_path / "c.tsv").write_text(
        'id\timage\tcaption\treferences\na\tx.png\t"a ""quoted"", comma"\t["r one", "r|two"]\nb\ty.png\tplain\ts\n'
    )
    for name in ("c.jsonl.gz", "c.json", "c.csv", "c.tsv"):
        got = read_rows(tmp_path / name, needs_image=False)[0]
        assert [(r.id, r.caption, r.image, r.references, r.fingerprint()) for r in got] == [
            (r.id, r.caption, r.image, r.references, r.fingerprint()) for r in want
        ], name
    (tmp_path / "p.csv").write_text("id,image,caption,references\na,x.png,cap,one | two|three\n")
    assert read_rows(tmp_path / "p.csv", needs_image=False)[0][0].references == ["one", "two", "three"]


def test_row_errors_name_the_place_in_every_format(tmp_path):
    (tmp_path / "c.csv").write_text("id,image,caption\na,x.png,ok\nb,x.png\nc,x.png,\n")
    _, errors = read_rows(tmp_path / "c.csv", needs_image=False)
    assert [str(e).split(": ")[0] for e in errors] == [
        f"{tmp_path / 'c.csv'}:3",
        f"{tmp_path / 'c.csv'}:4 (id 'c')",
    ]
    assert "2 fields where the header has 3" in errors[0].reason and "missing 'caption'" in errors[1].reason
    (tmp_path / "a.json").write_text(json.dumps([{"caption": "ok"}, {"caption": 3}, "x"]))
    _, errors = read_rows(tmp_path / "a.json", needs_image=False)
    assert [str(e).split(" ")[0].split(":")[0] for e in errors] == [
        f"{tmp_path / 'a.json'}[1]",
        f"{tmp_path / 'a.json'}[2]",
    ]
    (tmp_path / "broken.json").write_text('[{"caption": "ok"}, {"caption": ')
    with pytest.raises(RewardkitError, match=r"broken\.json\[1\]: malformed JSON"):
        read_rows(tmp_path / "broken.json", needs_image=False)
    with gzip.open(tmp_path / "t.jsonl.gz", "wt") as fh:
        fh.write('{"caption": "a"}\n' * 50)
    (tmp_path / "cut.jsonl.gz").write_bytes((tmp_path / "t.jsonl.gz").read_bytes()[:-12])
    with pytest.raises(RewardkitError, match="cannot be read past line"):
        read_rows(tmp_path / "cut.jsonl.gz", needs_image=False)


def test_parquet_with_image_bytes_or_paths_scores_as_the_jsonl(tmp_path, preset_file):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    (tmp_path / "imgs").mkdir()
    blobs = []
    for i, im in enumerate(tiny_models.make_images(3)):
        im.save(tmp_path / "imgs" / f"{i}.png")
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        blobs.append(buf.getvalue())
    caps = CAPTIONS[:3]
    write_rows(
        tmp_path / "c.jsonl",
        [{"id": f"p{i}", "image": f"imgs/{i}.png", "caption": c} for i, c in enumerate(caps)],
    )
    table = pa.table({"id": [f"p{i}" for i in range(3)], "img": blobs, "text": caps})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=2)
    args = ["--preset", preset_file, "--rewards", "itm,bad", "-q", "--no-echo"]
    assert cli("score", tmp_path / "c.jsonl", "-o", tmp_path / "a.jsonl", *args).code == 0
    run = cli(
        "score",
        tmp_path / "c.parquet",
        "--image-column",
        "img",
        "--caption-column",
        "text",
        "-o",
        tmp_path / "b.jsonl",
        *args,
    )
    assert run.code == 0, run.stderr
    assert read_jsonl(tmp_path / "b.jsonl") == read_jsonl(tmp_path / "a.jsonl")
    summary = json.loads((tmp_path / "b.summary.json").read_text())
    assert summary["n_images"] == 3  # the evaluator read the bytes again by reference
    bad = pa.table({"id": ["q0", "q1", "q2"], "img": [blobs[0], b"not an image", blobs[2]], "text": caps})
    pq.write_table(bad, tmp_path / "bad.parquet", row_group_size=2)
    run = cli(
        "score",
        tmp_path / "bad.parquet",
        "--image-column",
        "img",
        "--caption-column",
        "text",
        "-o",
        tmp_path / "x.jsonl",
        *args,
    )
    assert run.code == 2 and f"{tmp_path / 'bad.parquet'} (row group 0, row 1) (id 'q1')" in run.error_line()
    missing = cli("score", tmp_path / "c.parquet", "-o", tmp_path / "y.jsonl", *args)
    assert (
        missing.code == 2
        and "no 'caption' column" in missing.error_line()
        and "--caption-column" in missing.error_line()
    )


def test_stdin_is_scored_and_resume_from_a_pipe_is_refused(tmp_path, text_preset):
    rows = "".join(json.dumps({"id": i, "caption": c}) + "\n" for i, c in enumerate(CAPTIONS))
    out = tmp_path / "o.jsonl"
    cmd = launch.command("score", "-", "--preset", text_preset, "-o", out, "-q")
    proc = subprocess.run(cmd, input=rows, env=launch.env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert [r["caption"] for r in read_jsonl(out)] == CAPTIONS
    cmd = launch.command("score", "-", "--preset", text_preset, "-o", out, "-q", "--resume")
    proc = subprocess.run(cmd, input=rows, env=launch.env(), capture_output=True, text=True, timeout=300)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert (
        proc.returncode == 2 and len(lines) == 1 and "--resume cannot be used with standard input" in lines[0]
    )
    assert len(read_jsonl(out)) == 4


def test_an_unknown_key_is_named_and_a_json_array_in_jsonl_is_hinted(tmp_path):
    write_rows(tmp_path / "c.jsonl", [{"id": 1, "file_name": "x.png", "caption": "a cat"}])
    _, errors = read_rows(tmp_path / "c.jsonl")
    assert "missing 'image'" in errors[0].reason and "'file_name'" in errors[0].reason
    assert "--image-column file_name" in errors[0].reason
    (tmp_path / "arr.jsonl").write_text(json.dumps([{"caption": "a"}], indent=1))
    _, errors = read_rows(tmp_path / "arr.jsonl", needs_image=False)
    assert "--format json" in errors[0].reason

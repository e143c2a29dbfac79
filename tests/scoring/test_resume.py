"""OUT's meta and part files: a resume refused when the reward setup differs, naming where; a fresh run's files cleared."""

from __future__ import annotations

import json

import pytest

from rewardkit.scoring.output import OutputError, fingerprints_path, sidecar
from rewardkit.scoring.resume import check_setup, part_files, prepare_out, read_meta, shard_path


def test_a_different_setup_is_refused_naming_the_first_difference(tmp_path):
    out = tmp_path / "o.jsonl"
    setup = {"components": {"itm": {"reward": "itm", "weight": 1.0}}, "dtype": "fp32"}
    prepare_out(out, setup)
    meta = read_meta(out)
    assert meta is not None and meta["setup"] == setup
    check_setup(out, meta, setup)  # the same setup resumes
    changed = json.loads(json.dumps(setup))
    changed["components"]["itm"]["weight"] = 2.0
    with pytest.raises(OutputError, match=r"differs at components\.itm\.weight \(1\.0 then, 2\.0 now\)"):
        check_setup(out, meta, changed)


def test_a_fresh_run_clears_out_and_its_parts_a_resume_keeps_them(tmp_path):
    out = tmp_path / "o.jsonl"
    for path in (
        out,
        fingerprints_path(out),
        sidecar(out, ".summary.json"),
        shard_path(out, 0),
        shard_path(out, 3),
    ):
        path.write_text("x")
    assert part_files(out) == [shard_path(out, 0), shard_path(out, 3)]
    prepare_out(out, {}, resume=True)
    assert out.exists() and not sidecar(out, ".summary.json").exists()  # a summary never outlives its rows
    prepare_out(out, {})
    assert not out.exists() and not fingerprints_path(out).exists() and part_files(out) == []

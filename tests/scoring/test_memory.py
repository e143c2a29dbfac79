"""Scoring rows held in memory (what bench runs) equals ``rewardkit score`` on a file of the same rows."""

from __future__ import annotations

import json
from pathlib import Path

from rewardkit.scoring.memory import score_held_rows
from rewardkit.scoring.output import fingerprints_path, sidecar
from rewardkit.scoring.pipeline import ScoreConfig, score_file
from rewardkit.scoring.rows import read_rows
from tests.scoring.conftest import toy_captions

ROOT = Path(__file__).resolve().parents[2]


def test_held_rows_give_the_files_and_summary_of_score_on_a_file(tmp_path):
    toy_captions(tmp_path, 9)
    by_file = tmp_path / "file.jsonl"
    result = score_file(
        ScoreConfig(
            captions=tmp_path / "captions.jsonl", out=by_file, preset="toy", batch_size=4, device="cpu"
        )
    )
    rows, errors = read_rows(tmp_path / "captions.jsonl")
    assert not errors
    held_out = tmp_path / "held.jsonl"
    held = score_held_rows(
        rows, "toy", captions=tmp_path / "captions.jsonl", device="cpu", batch_size=4, out=held_out
    )
    assert held.records == [json.loads(line) for line in by_file.read_text().splitlines()]
    assert held_out.read_bytes() == by_file.read_bytes()
    assert fingerprints_path(held_out).read_bytes() == fingerprints_path(by_file).read_bytes()
    meta = [json.loads(sidecar(p, ".meta.json").read_text()) for p in (held_out, by_file)]
    assert meta[0]["setup"] == meta[1]["setup"]
    summaries = [dict(held.summary), dict(result.summary)]
    for s in summaries:
        s.pop("date")
    unread, *notes = summaries[1].pop("notes")  # the file's rows have keys the reader names
    assert unread.startswith("rows have keys rewardkit does not read") and summaries[0].pop("notes") == notes
    assert summaries[0] == summaries[1]
    assert (
        json.loads(sidecar(held_out, ".summary.json").read_text())["CLIPScore"] == result.summary["CLIPScore"]
    )

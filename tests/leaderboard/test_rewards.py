"""Reported rows transcribed from CaptionEvalKit-for-VLMs' expected files, and LongCap-Arena's aspect rows."""

import csv
import json

from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.leaderboard.rewards import capevalkit_reported_rows, reward_rows

# Four of the files as fetched (YuigaWada/CaptionEvalKit-for-VLMs @ 23f154b, benchmarks/expected/...), verbatim.
FETCHED = {
    "clipscore/composite.json": """{
  "source": "arXiv:2512.21582 Table 1, rounded reported CLIP-S values",
  "score_name": "CLIPScore",
  "correlations": {
    "kendall_tau_b": 49.8,
    "kendall_tau_c": 53.8
  }
}""",
    "refpacscore/nebula.json": """{"source": "Matsuda et al. 2024 DENEB Table 1, rounded reported RefPAC-S ViT-B/32 value for Nebula",
 "score_name": "RefPAC-S", "correlations": {"kendall_tau_c": 50.6}}""",
    "vela/longcaparena-testb-rel.json": """{
  "source": "Matsuda et al. 2025 VELA Table 1 and Appendix D Table 4, LongCap-Arena TestB Relevance",
  "score_name": "VELA",
  "correlations": {
    "kendall_tau_b": 51.9,
    "kendall_tau_c": 52.3
  }
}""",
    "expert/flickr8k-cf.json": """{"source": "EXPERT ACL 2025 Findings Table 2, EXPERT row", "score_name": "EXPERT",
 "correlations": {"kendall_tau_b": 39.3}}""",
}
OURS = {
    "clipscore/composite.json": ("CLIP-S (ViT-B/32)", "composite"),
    "refpacscore/nebula.json": ("RefPAC-S (ViT-B/32)", "nebula"),
    "vela/longcaparena-testb-rel.json": ("VELA", "longcap-arena/testb-rel"),
    "expert/flickr8k-cf.json": ("EXPERT", "flickr8k-cf"),
}


def test_transcribed_rows_equal_the_fetched_files():
    rows = {(r["reward"], r["benchmark"]): r for r in capevalkit_reported_rows()}
    assert len(rows) == 67  # every expected file, once
    for name, text in FETCHED.items():
        want = json.loads(text)
        row = rows[OURS[name]]
        assert row["tau_b"] == want["correlations"].get("kendall_tau_b")
        assert row["tau_c"] == want["correlations"].get("kendall_tau_c")
        assert want["source"] in row["source"] and f"benchmarks/expected/{name}" in row["source"]
    vela = sorted(b for r, b in rows if r == "VELA")
    assert vela == [f"longcap-arena/test{s}-{a}" for s in "ab" for a in ("desc", "flu", "rel")]


def test_longcap_arena_results_become_one_row_per_aspect():
    rec = {
        "kind": "reward",
        "model": "clipscore",
        "benchmark": "longcap-arena",
        "n": 12,
        "metrics": {
            "tau_b": 20.0,
            "tau_c": 21.0,
            "aspects": {
                "testa-desc": {"tau_b": 10.0, "tau_c": 11.0},
                "testb-flu": {"tau_b": 30.0, "tau_c": 31.0},
            },
        },
        "truncation": {
            "clipscore": {
                "window_tokens": 77,
                "candidates": 12,
                "candidates_truncated": 9,
                "candidate_tokens_dropped": 0.25,
            }
        },
        "date": "2026-11-30",
    }
    rows = [r for r in reward_rows([rec]) if r["reward"] == "clipscore"]
    assert [(r["benchmark"], r["tau_c"]) for r in rows] == [
        ("longcap-arena/testa-desc", 11.0),
        ("longcap-arena/testb-flu", 31.0),
    ]
    assert rows[0]["truncated"] == "clipscore 9/12 (25.0% tok)"


def test_the_leaderboard_shows_the_reported_rows_with_sources(tmp_path):
    res = tmp_path / "results"
    r = CliRunner().invoke(
        app,
        ["bench", "--reward", "toy:itc", "--benchmark", "toy-foil", "--limit", "2", "--out", str(res), "-q"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, ["leaderboard", "build", "--results", str(res), "--out", str(tmp_path / "site")]
    )
    assert r.exit_code == 0, r.output
    readme = (tmp_path / "site" / "README.md").read_text()
    assert "## composite" in readme and "## longcap-arena/testa-desc" in readme and "## nebula" in readme
    assert "arXiv:2512.21582 Table 1, rounded reported CLIP-S values" in readme
    rows = list(csv.DictReader((tmp_path / "site" / "rewards.csv").open()))
    vela = [x for x in rows if x["reward"] == "VELA" and x["benchmark"] == "longcap-arena/testa-desc"]
    assert len(vela) == 1 and float(vela[0]["tau_b"]) == 56.8 and float(vela[0]["tau_c"]) == 56.4
    toy = [x for x in rows if x["reward"] == "toy:itc"]
    assert toy and toy[0]["truncated"] != ""  # the toy ITC model's text window is reported

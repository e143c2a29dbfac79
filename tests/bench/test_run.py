"""``rewardkit bench`` end to end on the toy benchmark with the shipped toy captioner, then the leaderboard;
an empty prediction completes with pycocoevalcap's numbers."""

import contextlib
import io
import json

import pytest
from typer.testing import CliRunner

from rewardkit.bench.benchmarks import load_items
from rewardkit.cli.main import app
from tests.functional.ptb_java import have_java


def test_bench_toy_sft_and_a_captions_file(tmp_path):
    out = tmp_path / "results"
    r = CliRunner().invoke(
        app, ["bench", "--model", "toy-sft", "--limit", "20", "--seed", "5", "--out", str(out), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "toy-sft__toy.json").read_text())
    assert rec["benchmark"] == "toy" and rec["n"] == 20
    assert set(rec["metrics"]["clip_recall"]) == {"R@1", "R@5", "R@10", "MRR"}
    assert rec["generation"]["num_beams"] == 5 and rec["generation"]["min_new_tokens"] == 4
    for key in ("versions", "hardware", "date", "config"):
        assert rec[key]
    caps = [json.loads(x) for x in (out / "toy-sft__toy.captions.jsonl").read_text().splitlines()]
    assert len(caps) == 20 and all(c["caption"] for c in caps)
    m = rec["metrics"]
    for key in ("claim_precision", "claim_recall", "grammatical"):
        assert 0 <= m[key] <= 1
    # terse SFT captions state about two claims of the ~8 facts of a scene (1-3 objects x 3 + background)
    assert m["claims"]["facts"] > 3 * m["claims"]["stated"] and m["claim_recall"] < 0.5
    assert "wrote" in r.output and str(out / "toy-sft__toy.captions.jsonl") in "".join(r.output.split("\n"))
    assert all((out / name).exists() for name in rec["files"])
    # the benchmark's own full descriptions, as a ready captions file, retrieve far better than terse SFT captions
    full = tmp_path / "full.jsonl"
    full.write_text("".join(json.dumps({"id": c["id"], "caption": c["references"][0]}) + "\n" for c in caps))
    r = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            f"captions:{full}",
            "--benchmark",
            "toy",
            "--limit",
            "20",
            "--seed",
            "5",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    rec_full = json.loads(next(out.glob("captions_*__toy.json")).read_text())
    assert rec_full["metrics"]["clip_recall"]["R@1"] > rec["metrics"]["clip_recall"]["R@1"]
    # the generator's own full descriptions: every claim true, every fact stated, all grammatical
    full_m = rec_full["metrics"]
    assert (full_m["claim_precision"], full_m["claim_recall"], full_m["grammatical"]) == (1.0, 1.0, 1.0)
    r = CliRunner().invoke(
        app, ["leaderboard", "build", "--results", str(out), "--out", str(tmp_path / "site")]
    )
    assert r.exit_code == 0
    assert "toy-sft" in (tmp_path / "site" / "README.md").read_text()


def test_real_benchmark_without_data_is_one_clear_error(tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            "blip2",
            "--benchmark",
            "coco-karpathy-test",
            "--data-dir",
            str(tmp_path),
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code != 0 and "dataset_coco.json" in str(r.exception)


def test_toy_decoding_drops_the_bigram_block_unless_asked(tmp_path):
    out = tmp_path / "results"
    args = ["bench", "--model", "toy-a2c", "--limit", "12", "--seed", "5", "--quiet"]
    r = CliRunner().invoke(app, [*args, "--out", str(out / "toy")])
    assert r.exit_code == 0, r.output
    toy = json.loads((out / "toy" / "toy-a2c__toy.json").read_text())
    assert toy["generation"]["no_repeat_ngram_size"] == 0 and toy["generation"]["num_beams"] == 5
    r = CliRunner().invoke(app, [*args, "--out", str(out / "t2"), "--no-repeat-ngram-size", "2"])
    assert r.exit_code == 0, r.output
    t2 = json.loads((out / "t2" / "toy-a2c__toy.json").read_text())
    assert t2["generation"]["no_repeat_ngram_size"] == 2

    def bigram_repeats(folder):
        rows = [json.loads(x) for x in (folder / "toy-a2c__toy.captions.jsonl").read_text().splitlines()]
        out = 0
        for row in rows:
            w = row["caption"].split()
            grams = list(zip(w, w[1:]))
            out += len(grams) != len(set(grams))
        return out

    assert bigram_repeats(out / "t2") == 0  # Table 2's block holds
    assert bigram_repeats(out / "toy") > 0  # full toy descriptions of 2-3 objects repeat bigrams


def test_bench_captions_can_be_scored_again_with_another_preset(tmp_path):
    out = tmp_path / "results"
    args = ["bench", "--model", "toy-hard-sft", "--benchmark", "toy-hard", "--limit", "8", "--quiet"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "toy-hard-sft__toy-hard.json").read_text())
    assert {"claim_precision", "claim_recall", "grammatical"} <= set(rec["metrics"])
    moved = tmp_path / "elsewhere"
    out.rename(moved)  # the images travel with the folder: the captions file names them relative to it
    captions = moved / "toy-hard-sft__toy-hard.captions.jsonl"
    rescored = tmp_path / "esper.scores.jsonl"
    r = CliRunner().invoke(app, ["score", str(captions), "--preset", "toy-hard-esper", "-o", str(rescored)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in rescored.read_text().splitlines()]
    assert len(rows) == 8 and all(isinstance(row.get("total"), float) for row in rows)


def test_bench_with_an_empty_prediction_completes_with_pycocoevalcaps_numbers(tmp_path):
    assert have_java(), "the reference numbers come from pycocoevalcap's Java tokenizer"
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    items = load_items("toy", data_dir=None, work=tmp_path / "work", limit=8, seed=5)
    captions = {it.id: it.references[0] for it in items}
    captions[items[2].id] = ""
    captions[items[5].id] = "\u200b"
    given = tmp_path / "preds.jsonl"
    given.write_text("".join(json.dumps({"id": k, "caption": c}) + "\n" for k, c in captions.items()))
    out = tmp_path / "results"
    args = ["bench", "--model", f"captions:{given}", "--benchmark", "toy", "--limit", "8", "--seed", "5"]
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    rec = json.loads(next(out.glob("captions_*__toy.json")).read_text())
    assert rec["n"] == 8 and rec["empty_captions"] == 2
    rows = [json.loads(x) for x in next(out.glob("captions_*__toy.captions.jsonl")).read_text().splitlines()]
    assert [r["caption"] for r in rows] == [captions[it.id] for it in items]
    tok = PTBTokenizer()
    with contextlib.redirect_stdout(io.StringIO()):
        res = tok.tokenize({r["id"]: [{"caption": r["caption"]}] for r in rows})
        gts = tok.tokenize({r["id"]: [{"caption": x} for x in r["references"]] for r in rows})
    assert rec["metrics"]["CIDEr-D"] == pytest.approx(Cider().compute_score(gts, res)[0], abs=1e-9)

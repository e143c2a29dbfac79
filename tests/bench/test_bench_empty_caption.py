"""``bench`` with an empty prediction completes and reports pycocoevalcap's numbers with it."""

import contextlib
import io
import json

import pytest
from typer.testing import CliRunner

from rewardkit.bench.benchmarks import load_items
from rewardkit.cli.main import app
from tests.functional.ptb_java import have_java


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

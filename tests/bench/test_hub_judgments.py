"""Composite, Nebula and LongCap-Arena on small files in their Hugging Face layouts, against CaptionEvalKit's
readers and Kendall code (transcribed in tests/reference.py); truncation counts; several rewards x benchmarks."""

import csv
import io
import json
import random

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rewardkit.bench import judgments as J
from rewardkit.bench.reward_run import RewardScorer, run_reward_bench
from rewardkit.cli.main import app
from rewardkit.errors import RewardkitError
from tests import reference

WORDS = "a dog runs on the grass man rides red bike two cats sit near window".split()


def _png(seed, size=(20, 16)):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _sentence(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(3, 9)))


def _write_parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def composite_dir(root, n=14):
    """yuwd/Composite as CaptionEvalKit reads it: imgid, img, cand, refs (a list literal here), human_score."""
    rng = random.Random(4)
    rows = [
        {
            "imgid": f"COCO_val2014_{k:012d}.jpg",
            "img": {"bytes": _png(k % 5), "path": f"{k}.png"},
            "cand": "  " + _sentence(rng) + " . ",
            "refs": repr([_sentence(rng) + "  ." for _ in range(rng.randint(1, 4))]),
            "human_score": float(rng.randint(1, 5)),
        }
        for k in range(n)
    ]
    _write_parquet(root / "data" / "test-00000-of-00001.parquet", rows[: n // 2])
    _write_parquet(root / "data" / "test-00001-of-00001.parquet", rows[n // 2 :])
    return rows


def nebula_dir(root, n=16):
    """Ka2ukiMatsuda/Nebula's test split and Spica's three CSVs (two scores of one caption, one not in Nebula)."""
    rng = random.Random(5)
    rows = [
        {
            "file_name": f"{1000 + k}.jpg",
            "image": {"bytes": _png(k), "path": f"{1000 + k}.jpg"},
            "refs": [_sentence(rng) for _ in range(3)],
            "mt": _sentence(rng) + "  ",
            "human_score": rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]),
        }
        for k in range(n)
    ]
    _write_parquet(root / "data" / "test-00000-of-00001.parquet", rows)
    _write_parquet(root / "data" / "train-00000-of-00001.parquet", rows[:3])  # not read
    spica = root / "spica"
    spica.mkdir()
    fixes = {0: [0.9, 0.7], 3: [0.1], 7: [0.55]}
    names = ["spica_train.csv", "spica_val.csv", "spica_test.csv"]
    for j, name in enumerate(names):
        with (spica / name).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["imgid", "mt", "score"])
            w.writeheader()
            for k, scores in fixes.items():
                if j < len(scores):
                    w.writerow(
                        {
                            "imgid": f"{1000 + k}.jpg",
                            "mt": " ".join(rows[k]["mt"].split()),
                            "score": scores[j],
                        }
                    )
            w.writerow({"imgid": "9999.jpg", "mt": "not in nebula", "score": 0.3})
    return rows, [spica / n for n in names]


def longcap_dir(root, n=8, aspects=("dci_val.desc", "dci_val.flu", "dci_test.rel")):
    rng = random.Random(6)
    out = {}
    for a in aspects:
        rows = [
            {
                "file_name": f"sa_{k}.jpg",
                "image": {"bytes": _png(k, (24, 24)), "path": None},
                "refs": [_sentence(rng, 30)],
                "cand": _sentence(rng, rng.randint(20, 60)),
                "score": rng.choice([0.0, 0.25, 0.5, 0.625, 0.75, 1.0]),
            }
            for k in range(n)
        ]
        _write_parquet(root / "data" / f"{a}-00000-of-00001.parquet", rows)
        out[a] = rows
    return out


@pytest.fixture
def ref_preset(tmp_path, opt_dir):
    path = tmp_path / "lm.json"
    path.write_text(
        json.dumps(
            {
                "name": "lm",
                "models": {"lm": {"backend": "causal_lm", "checkpoint": str(opt_dir)}},
                "components": [{"name": "ref", "reward": "ref", "model": "lm"}],
            }
        )
    )
    return path


@pytest.fixture
def clipscore_preset(tmp_path, open_clip_dir, blip2_itm_dir):
    """The clipscore preset's two components on the tiny open_clip (16-token window), plus a tiny BLIP-2 ITM."""
    path = tmp_path / "clipscore.json"
    path.write_text(
        json.dumps(
            {
                "name": "clipscore",
                "models": {
                    "clip": {"backend": "open_clip", "checkpoint": f"local-dir:{open_clip_dir}"},
                    "itm": {"backend": "blip2_itm", "checkpoint": str(blip2_itm_dir)},
                },
                "components": [
                    {"name": "clipscore", "reward": "clipscore", "model": "clip", "weight": 1.0},
                    {"name": "refclipscore", "reward": "refclipscore", "model": "clip", "weight": 0.0},
                    {"name": "itm", "reward": "itm", "model": "itm", "weight": 0.0},
                ],
            }
        )
    )
    return path


def _got(items):
    return [(i.candidate, i.references, i.human) for i in items]


def test_composite_follows_capevalkits_reader_and_kendall(tmp_path, ref_preset):
    rows = composite_dir(tmp_path)
    items = J.composite(tmp_path)
    want = reference.capevalkit_composite_items(rows)
    assert _got(items) == [w[1:] for w in want]
    assert [Image.open(io.BytesIO(i.image)).size for i in items] == [(20, 16)] * len(rows)
    rec = run_reward_bench(
        str(ref_preset),
        "composite",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "r",
        device="cpu",
        batch_size=5,
    )
    scores = RewardScorer(str(ref_preset), device="cpu")([w[1] for w in want], [None] * len(want))
    k = reference.capevalkit_kendall(scores, [w[3] for w in want])
    assert rec["metrics"]["tau_c"] == pytest.approx(k["kendall_tau_c"], abs=1e-9)
    assert rec["metrics"]["tau_b"] == pytest.approx(k["kendall_tau_b"], abs=1e-9)
    assert rec["headline"] == "tau_c" and rec["n"] == len(rows)
    assert len(J.composite(tmp_path, limit=9)) == 9  # across the two shards


def test_composite_csv_layout_follows_capevalkits_csv_reader(tmp_path):
    rng = random.Random(8)
    (tmp_path / "composite" / "images").mkdir(parents=True)
    rows = []
    for k in range(5):
        Image.open(io.BytesIO(_png(k))).save(tmp_path / "composite" / "images" / f"{k}.jpg")
        rows.append(
            {
                "imgid": f"{k}.jpg" if k % 2 else str(k),
                "mt": _sentence(rng) + "  ",
                "refs": repr([_sentence(rng)]),
                "score": rng.randint(1, 5),
            }
        )
    with (tmp_path / "composite" / "en_test_composite_da2.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    items = J.composite(tmp_path)
    want = reference.capevalkit_csv_items(tmp_path / "composite" / "en_test_composite_da2.csv")
    assert _got(items) == [w[1:] for w in want]
    assert [i.image.stem for i in items] == [
        str(k) for k in range(5)
    ]  # "2" found as 2.jpg, as the reader does


def test_nebula_corrections_follow_capevalkit_and_can_be_switched_off(tmp_path, ref_preset):
    rows, spica = nebula_dir(tmp_path)
    items, changed = J.nebula(tmp_path)
    want = reference.capevalkit_nebula_items(rows, spica)
    assert _got(items) == [w[1:] for w in want]
    assert changed == 3 and items[0].human == pytest.approx(0.8)  # mean of Spica's 0.9 and 0.7
    raw, none = J.nebula(tmp_path, corrections=False)
    assert _got(raw) == [w[1:] for w in reference.capevalkit_nebula_items(rows, spica, corrections=False)]
    assert none == 0 and raw[0].human == rows[0]["human_score"]
    rec = run_reward_bench(
        str(ref_preset),
        "nebula",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "r",
        device="cpu",
        batch_size=8,
    )
    scores = RewardScorer(str(ref_preset), device="cpu")([w[1] for w in want], [None] * len(want))
    assert rec["metrics"]["tau_c"] == pytest.approx(
        reference.capevalkit_kendall(scores, [w[3] for w in want])["kendall_tau_c"]
    )
    assert rec["metrics"]["scores_corrected"] == 3 and rec["metrics"]["corrections"] is True
    rec_raw = run_reward_bench(
        str(ref_preset),
        "nebula",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "r2",
        device="cpu",
        batch_size=8,
        nebula_corrections=False,
    )
    assert rec_raw["metrics"]["tau_c"] == pytest.approx(
        reference.capevalkit_kendall(scores, [r["human_score"] for r in rows])["kendall_tau_c"]
    )
    assert "uncorrected" in rec_raw["protocol"]
    r = CliRunner().invoke(
        app,
        [
            "bench",
            "--reward",
            str(ref_preset),
            "--benchmark",
            "nebula",
            "--data-dir",
            str(tmp_path),
            "--no-nebula-corrections",
            "--out",
            str(tmp_path / "r3"),
            "-q",
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    cli_rec = json.loads(next((tmp_path / "r3").glob("*__nebula.json")).read_text())
    assert cli_rec["metrics"]["corrections"] is False
    assert cli_rec["metrics"]["tau_c"] == pytest.approx(rec_raw["metrics"]["tau_c"])


def test_nebula_without_spica_names_the_switch(tmp_path):
    nebula_dir(tmp_path)
    for f in (tmp_path / "spica").iterdir():
        f.unlink()
    with pytest.raises(RewardkitError, match="--no-nebula-corrections"):
        J.nebula(tmp_path)
    assert len(J.nebula(tmp_path, corrections=False)[0]) == 16


def test_longcap_arena_per_aspect_taus_follow_capevalkit(tmp_path, ref_preset):
    data = longcap_dir(tmp_path)
    got = J.longcap_arena(tmp_path)
    assert list(got) == ["testa-desc", "testa-flu", "testb-rel"]
    for aspect, split in (
        ("testa-desc", "dci_val.desc"),
        ("testa-flu", "dci_val.flu"),
        ("testb-rel", "dci_test.rel"),
    ):
        assert _got(got[aspect]) == [w[1:] for w in reference.capevalkit_longcaparena_items(data[split])]
    rec = run_reward_bench(
        str(ref_preset),
        "longcap-arena",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "r",
        device="cpu",
        batch_size=8,
    )
    scorer = RewardScorer(str(ref_preset), device="cpu")
    taus = []
    for aspect, split in (
        ("testa-desc", "dci_val.desc"),
        ("testa-flu", "dci_val.flu"),
        ("testb-rel", "dci_test.rel"),
    ):
        rows = reference.capevalkit_longcaparena_items(data[split])
        k = reference.capevalkit_kendall(
            scorer([r[1] for r in rows], [None] * len(rows)), [r[3] for r in rows]
        )
        assert rec["metrics"]["aspects"][aspect]["tau_b"] == pytest.approx(k["kendall_tau_b"])
        assert rec["metrics"]["aspects"][aspect]["tau_c"] == pytest.approx(k["kendall_tau_c"])
        taus.append(k["kendall_tau_c"])
    assert rec["metrics"]["tau_c"] == pytest.approx(sum(taus) / 3)
    assert rec["n"] == 24


def test_bad_rows_are_one_line(tmp_path):
    _write_parquet(
        tmp_path / "data" / "test-00000-of-00001.parquet",
        [
            {
                "imgid": "x",
                "img": {"bytes": b"nope", "path": None},
                "cand": "a",
                "refs": [],
                "human_score": 1.0,
            }
        ],
    )
    with pytest.raises(RewardkitError, match=r"test-00000-of-00001.parquet: row 0: unreadable image"):
        J.composite(tmp_path)
    with pytest.raises(RewardkitError, match="no LongCap-Arena split"):
        J.longcap_arena(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardkitError, match="no data/test-.*Composite"):
        J.composite(tmp_path / "empty")


@pytest.mark.parametrize("bench", ["composite", "nebula", "longcap-arena"])
def test_cli_clipscore_runs_on_the_small_copies(tmp_path, clipscore_preset, bench):
    {"composite": composite_dir, "nebula": nebula_dir, "longcap-arena": longcap_dir}[bench](tmp_path / "d")
    r = CliRunner().invoke(
        app,
        [
            "bench",
            "--reward",
            f"{clipscore_preset}:clipscore",
            "--benchmark",
            bench,
            "--data-dir",
            str(tmp_path / "d"),
            "--out",
            str(tmp_path / "res"),
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    files = list((tmp_path / "res").glob(f"*__{bench}.json"))
    assert len(files) == 1
    rec = json.loads(files[0].read_text())
    assert rec["metrics"]["tau_c"] is not None and "clipscore" in rec["truncation"]
    assert "candidates truncated" in r.output and str(files[0]) in r.output.replace("\n", "")


def test_several_rewards_on_several_benchmarks_in_one_table(tmp_path, ref_preset):
    composite_dir(tmp_path / "d")
    longcap_dir(tmp_path / "d")
    r = CliRunner().invoke(
        app,
        [
            "bench",
            "--reward",
            f"toy:itc,{ref_preset}",
            "--benchmark",
            "toy-foil,composite",
            "--data-dir",
            str(tmp_path / "d"),
            "--limit",
            "2",
            "--out",
            str(tmp_path / "res"),
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    recs = {p.name: json.loads(p.read_text()) for p in (tmp_path / "res").glob("*.json")}
    assert len(recs) == 4 and {r["benchmark"] for r in recs.values()} == {"toy-foil", "composite"}
    itc = recs["toy_itc__toy-foil.json"]["metrics"]["accuracy"]
    assert "toy-foil (accuracy)" in r.output and "composite (tau_c)" in r.output
    assert f"{itc:.1f}" in r.output
    from tests.reliability.conftest import cli

    r = cli("bench", "--reward", "toy:itx", "--benchmark", "toy-foil", "--out", tmp_path / "x")
    assert r.code == 2 and "no component 'itx'" in r.error_line() and "itc" in r.error_line()

"""Human-judgment loaders on small files in each set's published format, against their evaluation code (transcribed)."""

import io
import json
import math
import random

import numpy as np
import pytest
import scipy.stats
from PIL import Image

from rewardkit.bench import judgments as J
from rewardkit.bench.reward_run import run_reward_bench
from rewardkit.errors import RewardkitError
from tests import reference

WORDS = "a dog runs on the grass man rides red bike two cats sit near window".split()


def _image(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
    return path


def _sentence(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(3, 8)))


@pytest.fixture
def ref_preset(tmp_path, opt_dir):
    """A text reward (a small causal LM's mean log-prob): varied values, no images needed."""
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


def _flickr8k_dir(tmp_path, layout):
    rng = random.Random(0)
    data = {}
    for k in range(6):
        rel = f"Flicker8k_Dataset/{1000 + k}_abc.jpg"
        target = tmp_path / (rel if layout == "clipscore" else f"images/{1000 + k}_abc.jpg")
        _image(target, k)
        judgements = []
        for _ in range(3):
            rating = float(rng.randint(1, 4))
            if rng.random() < 0.15:
                rating = float("nan")
            judgements.append({"caption": "  " + _sentence(rng) + " .  ", "rating": rating})
        data[f"{1000 + k}_abc.jpg"] = {
            "image_path": rel,
            "ground_truth": [_sentence(rng) + "  ." for _ in range(5)],
            "human_judgement": judgements,
        }
    (tmp_path / "flickr8k.json").write_text(
        json.dumps(data)
    )  # json writes NaN as the reference files hold it
    (tmp_path / "crowdflower_flickr8k.json").write_text(json.dumps(data))
    return data


@pytest.mark.parametrize("layout", ["clipscore", "pacs"])
def test_flickr8k_items_follow_the_reference_loader(tmp_path, layout):
    data = _flickr8k_dir(tmp_path, layout)
    items = J.flickr8k(tmp_path, "flickr8k.json")
    ref = reference.flickr8k_items(data)
    assert len(items) == len(ref) and len(ref) < 18  # some NaN ratings were skipped
    for got, want in zip(items, ref):
        assert (got.image.name, got.candidate, got.references, got.human) == (
            want["image"],
            want["candidate"],
            want["references"],
            want["human_score"],
        )


def test_flickr8k_tau_is_the_papers_variant_over_the_reference_items(tmp_path, ref_preset):
    data = _flickr8k_dir(tmp_path, "pacs")
    ref = reference.flickr8k_items(data)
    from rewardkit.bench.reward_run import RewardScorer

    scores = RewardScorer(str(ref_preset), device="cpu")([r["candidate"] for r in ref], [None] * len(ref))
    human = [r["human_score"] for r in ref]
    for bench, variant in (("flickr8k-expert", "c"), ("flickr8k-cf", "b")):
        rec = run_reward_bench(
            str(ref_preset),
            bench,
            data_dir=tmp_path,
            limit=None,
            seed=0,
            out=tmp_path / "res",
            device="cpu",
            batch_size=4,
        )
        want = 100 * scipy.stats.kendalltau(scores, human, variant=variant).statistic
        assert rec["metrics"][f"tau_{variant}"] == pytest.approx(want, abs=1e-6)
        assert rec["kind"] == "reward" and rec["headline"] == f"tau_{variant}"


def test_flickr8k_refuses_an_image_path_outside_the_data_folder(tmp_path):
    _image(tmp_path / "images" / "x.jpg", 0)
    (tmp_path / "flickr8k.json").write_text(
        json.dumps({"k": {"image_path": "../../etc/passwd", "ground_truth": ["a"], "human_judgement": []}})
    )
    with pytest.raises(RewardkitError, match="leaves the data folder"):
        J.flickr8k(tmp_path, "flickr8k.json")
    (tmp_path / "flickr8k.json").write_text("{")
    with pytest.raises(RewardkitError, match="flickr8k.json: not a readable JSON"):
        J.flickr8k(tmp_path, "flickr8k.json")


def test_polaris_parquet_with_images_inside(tmp_path, ref_preset):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(1)
    rows = []
    for k in range(12):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (k * 20, 0, 0)).save(buf, format="PNG")
        rows.append(
            {
                "refs": [_sentence(rng) for _ in range(3)],
                "cand": _sentence(rng),
                "img": {"bytes": buf.getvalue(), "path": f"{k}.png"},
                "human_score": rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]),
            }
        )
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data" / "test-00000-of-00001.parquet")
    items = J.polaris(tmp_path)
    assert [i.candidate for i in items] == [r["cand"] for r in rows]
    assert items[3].image.size == (8, 8) and items[3].image.getpixel((0, 0)) == (60, 0, 0)
    rec = run_reward_bench(
        str(ref_preset),
        "polaris",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "res",
        device="cpu",
        batch_size=5,
    )
    from rewardkit.bench.reward_run import RewardScorer

    scores = RewardScorer(str(ref_preset), device="cpu")([r["cand"] for r in rows], [None] * len(rows))
    want = 100 * scipy.stats.kendalltau(scores, [r["human_score"] for r in rows], variant="c").statistic
    assert rec["metrics"]["tau_c"] == pytest.approx(want, abs=1e-6)


def _foil_dir(tmp_path):
    rng = random.Random(2)
    images, annotations, coco = [], [], []
    ann_id = 0
    for img_id in range(4):
        name = f"COCO_val2014_{img_id:012d}.jpg"
        _image(tmp_path / "val2014" / name, img_id)
        images.append({"id": img_id, "file_name": name})
        caps = [_sentence(rng) for _ in range(5)]
        coco += [{"image_id": img_id, "id": 100 * img_id + j, "caption": c} for j, c in enumerate(caps)]
        for _ in range(2):  # two original captions of this image, each with 1-2 foils
            ann_id += 1
            orig = caps[rng.randrange(5)]
            annotations.append({"id": ann_id, "image_id": img_id, "caption": orig, "foil": False})
            for _ in range(rng.randint(1, 2)):
                annotations.append(
                    {"id": ann_id, "image_id": img_id, "caption": _sentence(rng), "foil": True}
                )
    foil = {"images": images, "annotations": annotations}
    coco = {"annotations": coco}
    (tmp_path / "foilv1.0_test_2017.json").write_text(json.dumps(foil))
    (tmp_path / "captions_val2014.json").write_text(json.dumps(coco))
    return foil, coco


@pytest.mark.parametrize("n_refs", [1, 4])
def test_foil_pairs_follow_the_reference_loader(tmp_path, n_refs):
    foil, coco = _foil_dir(tmp_path)
    got = J.foil(tmp_path, n_refs)
    want = reference.foil_items(foil, coco, one_ref=n_refs == 1)
    assert [(p.image.name, p.a, p.b, p.references) for p in got] == [
        (w["file"], w["orig"], w["foil"], w["refs"]) for w in want
    ]
    assert all(p.prefer_a for p in got)


def _mat_cell(strings):
    cell = np.empty((len(strings),), dtype=object)
    for i, s in enumerate(strings):
        cell[i] = np.array([s]) if isinstance(s, str) else np.array([[s]])
    return cell


def _pascal_dir(tmp_path, n_pairs=8):
    from scipy.io import savemat

    rng = random.Random(3)
    pairs, triplets, cats = [], [], []
    for i in range(n_pairs):
        name = f"2008_{i:06d}.jpg"
        _image(tmp_path / "VOCdevkit" / "VOC2010" / "JPEGImages" / name, i)
        a, b = _sentence(rng), _sentence(rng)
        pairs.append((name, a, b))
        cats.append(1 + i % 4)
        votes_a = 24 if i % 3 == 0 else rng.randint(0, 48)  # every third pair is a tie
        order = [True] * votes_a + [False] * (48 - votes_a)
        rng.shuffle(order)
        for for_a in order:  # B/C column order varies: the winner column says which one won
            if rng.random() < 0.5:
                triplets.append((_sentence(rng), a, b, 1 if for_a else 2))
            else:
                triplets.append((_sentence(rng), b, a, 2 if for_a else 1))
    new_input = np.empty((1, n_pairs), dtype=object)
    for i, p in enumerate(pairs):
        new_input[0, i] = _mat_cell(list(p))
    trip = np.empty((1, len(triplets)), dtype=object)
    for j, t in enumerate(triplets):
        trip[0, j] = _mat_cell(list(t))
    folder = tmp_path / "pyCIDErConsensus"
    folder.mkdir()
    savemat(folder / "pair_pascal.mat", {"new_input": new_input, "category": np.array([cats])})
    savemat(folder / "consensus_pascal.mat", {"triplets": trip})
    return pairs, triplets, cats


def test_pascal50s_labels_ties_and_references_follow_the_reference(tmp_path, ref_preset):
    pairs, triplets, cats = _pascal_dir(tmp_path)
    got = J.pascal50s(tmp_path)
    labels, refs48 = reference.pascal_labels(pairs, triplets)
    assert [not p.prefer_a for p in got] == [bool(x) for x in labels]  # label 0 = A preferred
    assert [p.category for p in got] == [J.PASCAL_CATEGORIES[c] for c in cats]
    for p, all_refs in zip(got, refs48):
        assert len(p.references) == 5 and set(p.references) <= set(all_refs)
    again = J.pascal50s(tmp_path)
    assert [p.references for p in again] == [p.references for p in got]  # fixed seed
    rec = run_reward_bench(
        str(ref_preset),
        "pascal-50s",
        data_dir=tmp_path,
        limit=None,
        seed=0,
        out=tmp_path / "res",
        device="cpu",
        batch_size=8,
    )
    from rewardkit.bench.reward_run import RewardScorer

    score = RewardScorer(str(ref_preset), device="cpu")
    sa = score([p[1] for p in pairs], [None] * len(pairs))
    sb = score([p[2] for p in pairs], [None] * len(pairs))
    for cat in ("HC", "HI", "HM", "MM"):  # the evaluation code's rule: predict 0 if a > b else 1
        idx = [i for i, c in enumerate(cats) if J.PASCAL_CATEGORIES[c] == cat]
        want = 100 * sum((0 if sa[i] > sb[i] else 1) == labels[i] for i in idx) / len(idx)
        assert rec["metrics"][cat] == pytest.approx(want)
    assert not math.isnan(rec["metrics"]["mean"])


def test_missing_data_is_one_line(tmp_path, ref_preset):
    with pytest.raises(RewardkitError, match="flickr8k.json: no such file"):
        J.flickr8k(tmp_path, "flickr8k.json")
    with pytest.raises(RewardkitError, match="needs --data-dir"):
        run_reward_bench(
            str(ref_preset),
            "foil",
            data_dir=None,
            limit=None,
            seed=0,
            out=tmp_path,
            device="cpu",
            batch_size=4,
        )
    with pytest.raises(RewardkitError, match="did you mean 'toy-foil'"):
        run_reward_bench(
            str(ref_preset),
            "toy-foi",
            data_dir=None,
            limit=None,
            seed=0,
            out=tmp_path,
            device="cpu",
            batch_size=4,
        )

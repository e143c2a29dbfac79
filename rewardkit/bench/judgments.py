"""Human-judgment sets for benchmarking reward models, read from the files their authors publish.

The paper sets (Flickr8K, Polaris, FOIL, Pascal-50S) are read here; the CaptionEvalKit sets
(Composite, Nebula, LongCap-Arena) in :mod:`rewardkit.bench.hub_judgments`, re-exported. Each loader returns :class:`Rated` items (one caption, a human score: Kendall tau) or
:class:`Pair` items (two captions, which one people preferred: pairwise accuracy). Image
paths resolve under the data folder; the protocol of each set (tau variant, tie handling,
reference sampling) is the one its reference code uses, described in its data card.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from rewardkit.bench.hub_judgments import (  # noqa: F401  (the CaptionEvalKit sets, read here too)
    COMPOSITE_CSVS,
    LONGCAP_ARENA_SPLITS,
    SPICA_FILES,
    composite,
    literal_refs,
    longcap_arena,
    nebula,
    spica_scores,
)
from rewardkit.bench.judgment_items import (  # noqa: F401  (the item types, read from here too)
    Pair,
    Rated,
    _image,
    _json,
    _norm,
    _under,
)
from rewardkit.errors import RewardkitError


def flickr8k(data_dir: Path, file: str, limit: int | None = None) -> list[Rated]:
    """Flickr8K-Expert (``flickr8k.json``) or -CF (``crowdflower_flickr8k.json``), the JSON PAC-S and clipscore publish.

    Layout: ``{key: {"image_path", "ground_truth": [refs], "human_judgement": [{"caption", "rating"}]}}``;
    one item per judgement, NaN ratings skipped, whitespace collapsed (as their evaluation code does).
    Images: ``DATA/<image_path>`` (clipscore's layout) or ``DATA/images/<file name>`` (PAC-S's).
    """
    path = data_dir / file
    data = _json(path, "Flickr8K judgements")
    if not isinstance(data, dict):
        raise RewardkitError(f"{path}: expected an object of images, not {type(data).__name__}")
    out: list[Rated] = []
    for key, entry in data.items():
        where = f"{path}: {key}"
        try:
            refs = [_norm(r) for r in entry["ground_truth"]]
            rel = str(entry["image_path"])
            judgements = entry["human_judgement"]
        except (KeyError, TypeError) as exc:
            raise RewardkitError(f"{where}: missing field {exc}") from None
        image = _image(data_dir, [rel, f"images/{Path(rel).name}"], where)
        for j in judgements:
            try:
                rating, caption = float(j["rating"]), _norm(j["caption"])
            except (KeyError, TypeError, ValueError) as exc:
                raise RewardkitError(f"{where}: bad human_judgement ({exc})") from None
            if math.isnan(rating):
                continue
            out.append(Rated(image, caption, refs, rating))
            if limit is not None and len(out) >= limit:
                return out
    return out


def polaris(data_dir: Path, limit: int | None = None, split: str = "test") -> list[Rated]:
    """Polaris (Polos, CVPR 2024) from its published parquet files ``[data/]<split>-*.parquet``.

    Columns ``refs`` (list of strings), ``cand``, ``img`` (``{"bytes", "path"}``) and
    ``human_score``; images are decoded from the parquet.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RewardkitError("Polaris needs pyarrow: pip install 'rewardkit[human]'") from None
    from rewardkit.io.images import load_image

    files = sorted(data_dir.glob(f"{split}-*.parquet")) or sorted(data_dir.glob(f"data/{split}-*.parquet"))
    if not files:
        raise RewardkitError(f"{data_dir}: no {split}-*.parquet (nor data/{split}-*.parquet) of Polaris")
    out: list[Rated] = []
    for f in files:
        try:
            table = pq.read_table(f, columns=["refs", "cand", "img", "human_score"]).to_pylist()
        except Exception as exc:  # pyarrow raises its own error types for bad files and missing columns
            raise RewardkitError(
                f"{f}: not a Polaris parquet file ({' '.join(str(exc).split())[:160]})"
            ) from None
        for i, row in enumerate(table):
            where = f"{f}: row {i}"
            img = row["img"]
            blob = img.get("bytes") if isinstance(img, dict) else None
            if not blob:
                raise RewardkitError(f"{where}: no image bytes")
            image = load_image(blob, name=f"{where}: image").image
            out.append(
                Rated(image, _norm(row["cand"]), [_norm(r) for r in row["refs"]], float(row["human_score"]))
            )
            if limit is not None and len(out) >= limit:
                return out
    return out


def foil(data_dir: Path, n_refs: int, limit: int | None = None) -> list[Pair]:
    """FOIL-COCO test pairs (``foilv1.0_test_2017.json`` + COCO ``captions_val2014.json``), as Polos evaluates them.

    Each foil caption pairs with its original (same annotation id); references are the image's
    COCO captions other than the original, the first one (``n_refs=1``) or all (4). People prefer
    the original; a tie counts as wrong (the original must score strictly higher).
    Images: ``DATA/val2014/<file_name>`` or ``DATA/images/<file_name>``.
    """
    if n_refs not in (1, 4):
        raise RewardkitError(f"FOIL is evaluated with 1 or 4 references, not {n_refs}")
    foil_path, coco_path = data_dir / "foilv1.0_test_2017.json", data_dir / "captions_val2014.json"
    fdata, coco = _json(foil_path, "FOIL test annotations"), _json(coco_path, "COCO val2014 captions")
    refs: dict[Any, list[str]] = {}
    for ann in coco.get("annotations", []):
        refs.setdefault(ann["image_id"], []).append(ann["caption"])
    images = {img["id"]: img for img in fdata.get("images", [])}
    groups: dict[Any, dict[str, list[dict[str, Any]]]] = {}
    for ann in fdata.get("annotations", []):
        groups.setdefault(ann["id"], {"foil": [], "orig": []})["foil" if ann.get("foil") else "orig"].append(
            ann
        )
    out: list[Pair] = []
    for ann_id, g in groups.items():
        where = f"{foil_path}: annotation {ann_id}"
        if len(g["orig"]) != 1:
            raise RewardkitError(f"{where}: expected one original caption, found {len(g['orig'])}")
        orig = g["orig"][0]
        for f in g["foil"]:
            img = images.get(f["image_id"])
            if img is None:
                raise RewardkitError(f"{where}: image id {f['image_id']} not in images")
            r = [c for c in refs.get(f["image_id"], []) if c != orig["caption"]]
            if not r:
                raise RewardkitError(
                    f"{where}: image {f['image_id']} has no COCO reference besides the original"
                )
            r = r[:1] if n_refs == 1 else r
            path = _image(data_dir, [f"val2014/{img['file_name']}", f"images/{img['file_name']}"], where)
            out.append(Pair(path, orig["caption"], f["caption"], r, True, f"{n_refs}-ref"))
            if limit is not None and len(out) >= limit:
                return out
    return out


PASCAL_CATEGORIES = {1: "HC", 2: "HI", 3: "HM", 4: "MM"}


def _cells(value: Any, n: int, where: str) -> list[Any]:
    """The ``n`` cells of a MATLAB cell row as loadmat returns it (any of its nestings)."""
    import numpy as np

    flat = list(np.asarray(value, dtype=object).ravel())
    if len(flat) != n:
        raise RewardkitError(f"{where}: expected {n} cells, found {len(flat)}")
    return flat


def _scalar(value: Any) -> Any:
    """A MATLAB value unwrapped from its 1-element arrays."""
    while hasattr(value, "shape") and getattr(value, "size", 0) == 1 and value.shape != ():
        value = value.reshape(-1)[0]
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str:
    return str(_scalar(value)).strip()


def pascal50s(data_dir: Path, limit: int | None = None, n_refs: int = 5, seed: int = 42) -> list[Pair]:
    """Pascal-50S pairs from the CIDEr authors' ``pyCIDErConsensus/{pair,consensus}_pascal.mat``.

    Each of the 4,000 pairs has 48 votes (triplets of reference, caption B, caption C, winner);
    the label is the majority, ties broken at random with one draw per pair from
    ``random.Random(seed)`` (the Pascal-50S loader Polos and clipscore's issue #4 use, seed 42);
    ``n_refs`` of the 48 references are sampled per pair (5, as customary) from
    ``random.Random(seed + 1)``. Categories HC, HI,
    HM, MM. A tie in the metric predicts the second caption (the evaluation code's ``0 if a > b else 1``).
    Images: ``DATA/VOCdevkit/VOC2010/JPEGImages/<name>`` or ``DATA/images/<name>``.
    """
    try:
        from scipy.io import loadmat
    except ImportError:
        raise RewardkitError("Pascal-50S needs scipy: pip install 'rewardkit[human]'") from None
    folder = data_dir / "pyCIDErConsensus"
    mats = {}
    for name in ("pair_pascal.mat", "consensus_pascal.mat"):
        p = folder / name
        if not p.is_file():
            raise RewardkitError(f"{p}: no such file (Pascal-50S; see its data card)")
        try:
            mats[name] = loadmat(str(p))
        except Exception as exc:  # scipy raises several types on malformed files
            raise RewardkitError(
                f"{p}: not a readable .mat file ({' '.join(str(exc).split())[:120]})"
            ) from None
    pairs = mats["pair_pascal.mat"]["new_input"][0]
    categories = mats["pair_pascal.mat"]["category"][0]
    triplets = mats["consensus_pascal.mat"]["triplets"][0]
    if len(triplets) != 48 * len(pairs):
        raise RewardkitError(
            f"{folder}: {len(triplets)} triplets for {len(pairs)} pairs (expected 48 per pair)"
        )
    labels_rng, refs_rng = random.Random(seed), random.Random(seed + 1)
    out: list[Pair] = []
    for i in range(len(pairs)):
        where = f"{folder / 'pair_pascal.mat'}: pair {i}"
        name, a, b = (_text(c) for c in _cells(pairs[i], 3, where))
        votes: dict[str, int] = {}
        refs = []
        for j in range(48 * i, 48 * (i + 1)):
            ref, cap_b, cap_c, winner = _cells(triplets[j], 4, where)
            refs.append(_text(ref))
            key = _text(cap_b) if int(_scalar(winner)) == 1 else _text(cap_c)
            votes[key] = votes.get(key, 0) + 1
        if len(votes) > 2:
            raise RewardkitError(f"{where}: votes name {len(votes)} different captions")
        vote_a, vote_b = votes.get(a, 0), votes.get(b, 0)
        prefer_a = vote_a > vote_b + labels_rng.random() - 0.5  # majority; a tie is a coin flip
        chosen = refs_rng.sample(refs, n_refs) if n_refs < len(refs) else refs
        category = PASCAL_CATEGORIES.get(int(categories[i]), str(categories[i]))
        path = _image(data_dir, [f"VOCdevkit/VOC2010/JPEGImages/{name}", f"images/{name}"], where)
        out.append(Pair(path, a, b, chosen, bool(prefer_a), category))
        if limit is not None and len(out) >= limit:
            return out
    return out

"""Human-judgment sets for benchmarking reward models, read from the files their authors publish.

Each loader returns :class:`Rated` items (one caption, a human score: Kendall tau) or
:class:`Pair` items (two captions, which one people preferred: pairwise accuracy). Image
paths resolve under the data folder; the protocol of each set (tau variant, tie handling,
reference sampling) is the one its reference code uses, described in its data card.
"""

from __future__ import annotations

import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


@dataclass
class Rated:
    """One candidate caption of an image with a human rating."""

    image: Any  # a Path under the data folder, or a PIL image (Polaris keeps images in its parquet)
    candidate: str
    references: list[str]
    human: float


@dataclass
class Pair:
    """Two captions of one image and which one people preferred."""

    image: Any
    a: str
    b: str
    references: list[str]
    prefer_a: bool
    category: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _under(root: Path, rel: str, where: str) -> Path:
    """``root / rel`` if it stays under ``root`` (resolved), else a one-line error naming ``where``."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise RewardkitError(f"{where}: image path {rel!r} leaves the data folder {root}")
    return path


def _image(root: Path, candidates: list[str], where: str) -> Path:
    """The first of ``candidates`` (paths relative to ``root``) that exists, else an error naming all."""
    paths = [_under(root, c, where) for c in candidates]
    for p in paths:
        if p.is_file():
            return p
    raise RewardkitError(f"{where}: image not found (looked for {', '.join(str(p) for p in paths)})")


def _json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise RewardkitError(f"{path}: no such file ({what}; see its data card for where to get it)")
    try:
        return json.loads(
            path.read_text(encoding="utf-8")
        )  # Python's json reads the NaN ratings these files hold
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RewardkitError(
            f"{path}: not a readable JSON file ({' '.join(str(exc).split())[:120]})"
        ) from None


def _norm(text: str) -> str:
    return " ".join(str(text).split())


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


# ---------------------------------------------------------------- Composite, Nebula, LongCap-Arena
# Read from the copies their Hugging Face datasets publish, as CaptionEvalKit-for-VLMs reads them
# (capevalkit/infrastructure/benchmarks/legacy.py; data_cards/reward-benchmarks.md).


def literal_refs(value: Any) -> list[str]:
    """References as CaptionEvalKit reads them: a list, or a string holding a Python list literal, else none."""
    import ast

    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise RewardkitError(f"references {value[:60]!r} are not a list literal") from None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return []


def _parquet_files(data_dir: Path, split: str) -> list[Path]:
    """``split``'s parquet shards: ``data/<split>-*.parquet`` (the hub repository), ``<split>-*.parquet``
    or ``default/<split>/*.parquet`` (the hub's parquet conversion)."""
    for pattern in (f"data/{split}-*.parquet", f"{split}-*.parquet", f"default/{split}/*.parquet"):
        files = sorted(data_dir.glob(pattern))
        if files:
            return files
    return []


def _parquet_rows(files: list[Path], what: str) -> Any:
    """``(file, row index, row dict)`` of every row, a record batch at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RewardkitError(f"{what} needs pyarrow: pip install 'rewardkit[human]'") from None
    for f in files:
        try:
            reader = pq.ParquetFile(f)
            i = 0
            for batch in reader.iter_batches(batch_size=256):
                for row in batch.to_pylist():
                    yield f, i, row
                    i += 1
        except OSError as exc:
            raise RewardkitError(
                f"{f}: not a readable parquet file ({' '.join(str(exc).split())[:160]})"
            ) from None


def _image_bytes(value: Any, where: str) -> bytes:
    """The encoded image of a ``datasets`` Image cell (``{"bytes", "path"}``), checked to decode."""
    from PIL import Image

    blob = value.get("bytes") if isinstance(value, dict) else None
    if not blob:
        raise RewardkitError(f"{where}: no image bytes")
    try:
        with Image.open(io.BytesIO(blob)) as im:
            im.verify()
    except Exception as exc:  # any decoder error is this row's
        raise RewardkitError(f"{where}: unreadable image (PIL: {type(exc).__name__})") from None
    return bytes(blob)


def _field(row: dict[str, Any], keys: tuple[str, ...], where: str) -> Any:
    for k in keys:
        if row.get(k) is not None:
            return row[k]
    raise RewardkitError(f"{where}: missing field {' / '.join(keys)} (has {', '.join(sorted(row))})")


def _score(value: Any, where: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise RewardkitError(f"{where}: human score {value!r} is not a number") from None
    if math.isnan(score):
        raise RewardkitError(f"{where}: human score is NaN")
    return score


def _csv_items(path: Path, image_dir: Path, limit: int | None) -> list[Rated]:
    """CaptionEvalKit's CSV layout (columns ``imgid``/``image``, ``mt``/``cand``, ``refs``, ``score``)."""
    import csv

    out: list[Rated] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            where = f"{path}:{i + 2}"  # line 1 is the header
            name = str(_field(row, ("image", "image_path", "imgid"), where))
            stems = [name] + [f"{name}{s}" for s in (".jpg", ".jpeg", ".png", ".webp")]
            image = _image(image_dir, stems, where)
            caption = _norm(_field(row, ("mt", "cand"), where))
            try:
                refs = [_norm(r) for r in literal_refs(row.get("refs", "[]"))]
            except RewardkitError as exc:
                raise RewardkitError(f"{where}: {exc}") from None
            out.append(Rated(image, caption, refs, _score(row.get("score"), where)))
            if limit is not None and len(out) >= limit:
                break
    return out


COMPOSITE_CSVS = ("en_test_composite_da2.csv", "en_test_composite_da.csv")


def composite(data_dir: Path, limit: int | None = None) -> list[Rated]:
    """Composite test set (Aditya et al., 2015) from ``yuwd/Composite``'s parquet (``data/test-*.parquet``).

    Columns as CaptionEvalKit reads them: ``imgid``/``file_name``/``id``, ``img`` (image), ``cand``/``mt``/
    ``caption``, ``refs``/``references`` (list or list literal) and ``human_score``/``score``; whitespace
    collapsed. Also CaptionEvalKit's CSV layout (``[composite/]en_test_composite_da2.csv`` or ``_da.csv`` with
    ``images/``). Kendall tau-c, as the papers report it.
    """
    files = _parquet_files(data_dir, "test")
    if files:
        out: list[Rated] = []
        for f, i, row in _parquet_rows(files, "Composite"):
            where = f"{f}: row {i}"
            image = _image_bytes(_field(row, ("img", "image"), where), where)
            caption = _norm(_field(row, ("cand", "mt", "caption"), where))
            try:
                refs = [_norm(r) for r in literal_refs(row.get("refs", row.get("references", [])))]
            except RewardkitError as exc:
                raise RewardkitError(f"{where}: {exc}") from None
            out.append(
                Rated(image, caption, refs, _score(_field(row, ("human_score", "score"), where), where))
            )
            if limit is not None and len(out) >= limit:
                break
        return out
    for base in (data_dir, data_dir / "composite"):
        for name in COMPOSITE_CSVS:
            if (base / name).is_file():
                return _csv_items(base / name, base / "images", limit)
    raise RewardkitError(
        f"{data_dir}: no data/test-*.parquet (yuwd/Composite) nor {' / '.join(COMPOSITE_CSVS)} of Composite"
    )


SPICA_FILES = ("spica_train.csv", "spica_val.csv", "spica_test.csv")


def spica_scores(data_dir: Path) -> dict[tuple[str, str], float]:
    """Mean Spica score per (image stem, caption), CaptionEvalKit's Nebula corrections (``hiranohachiman/Spica``)."""
    import csv

    folder = next(
        (d for d in (data_dir / "spica", data_dir / "Spica", data_dir) if (d / SPICA_FILES[0]).is_file()),
        None,
    )
    if folder is None:
        raise RewardkitError(
            f"{data_dir}: Nebula's score corrections need hiranohachiman/Spica's {', '.join(SPICA_FILES)} "
            f"in {data_dir / 'spica'} (or pass --no-nebula-corrections for the uncorrected scores)"
        )
    totals: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], int] = {}
    for name in SPICA_FILES:
        path = folder / name
        if not path.is_file():
            raise RewardkitError(f"{path}: no such file (Spica split for Nebula's score corrections)")
        with path.open(newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                where = f"{path}:{i + 2}"
                key = (Path(str(_field(row, ("imgid",), where))).stem, _norm(_field(row, ("mt",), where)))
                totals[key] = totals.get(key, 0.0) + _score(row.get("score"), where)
                counts[key] = counts.get(key, 0) + 1
    return {k: totals[k] / counts[k] for k in totals}


def nebula(data_dir: Path, limit: int | None = None, corrections: bool = True) -> tuple[list[Rated], int]:
    """Nebula test split (DENEB, ACCV 2024) from ``Ka2ukiMatsuda/Nebula``'s ``data/test-*.parquet``.

    Columns ``file_name``, ``image``, ``refs``, ``mt``, ``human_score``. With ``corrections`` (the default,
    as CaptionEvalKit), each human score is replaced by the mean score of the same image and caption in
    Spica's CSVs, the corrected annotations arXiv:2512.21582 describes. Returns the items and how many
    scores were corrected.
    """
    files = _parquet_files(data_dir, "test")
    if not files:
        raise RewardkitError(f"{data_dir}: no data/test-*.parquet of Nebula (Ka2ukiMatsuda/Nebula)")
    lookup = spica_scores(data_dir) if corrections else {}
    out: list[Rated] = []
    changed = 0
    for f, i, row in _parquet_rows(files, "Nebula"):
        where = f"{f}: row {i}"
        img = row.get("image")
        name = row.get("file_name") or row.get("imgid")
        if not name:
            path = img.get("path") if isinstance(img, dict) else None
            name = Path(str(path)).name if path else str(i)
        caption = _norm(_field(row, ("mt",), where))
        try:
            refs = [_norm(r) for r in literal_refs(_field(row, ("refs",), where))]
        except RewardkitError as exc:
            raise RewardkitError(f"{where}: {exc}") from None
        human = _score(_field(row, ("human_score", "score"), where), where)
        fixed = lookup.get((Path(str(name)).stem, caption), human)
        changed += fixed != human
        out.append(Rated(_image_bytes(img, where), caption, refs, fixed))
        if limit is not None and len(out) >= limit:
            break
    return out, changed


LONGCAP_ARENA_SPLITS = {
    "testa-desc": "dci_val.desc",
    "testa-rel": "dci_val.rel",
    "testa-flu": "dci_val.flu",
    "testb-desc": "dci_test.desc",
    "testb-rel": "dci_test.rel",
    "testb-flu": "dci_test.flu",
}
"""LongCap-Arena's judged aspects (descriptiveness, relevance, fluency) on TestA/TestB, as the VELA paper names
them, and the hub splits that hold them (CaptionEvalKit's mapping)."""


def longcap_arena(data_dir: Path, limit: int | None = None) -> dict[str, list[Rated]]:
    """LongCap-Arena (VELA, EMNLP 2025) from ``Ka2ukiMatsuda/LongCap-Arena``'s ``data/<split>-*.parquet``.

    One list of rated captions per aspect present (``testa-desc`` ... ``testb-flu``); columns ``file_name``,
    ``image``, ``refs`` (list), ``cand``, ``score``. ``limit`` applies to each aspect.
    """
    out: dict[str, list[Rated]] = {}
    for aspect, split in LONGCAP_ARENA_SPLITS.items():
        files = _parquet_files(data_dir, split)
        if not files:
            continue
        items: list[Rated] = []
        for f, i, row in _parquet_rows(files, "LongCap-Arena"):
            where = f"{f}: row {i}"
            refs = _field(row, ("refs",), where)
            if not isinstance(refs, (list, tuple)):
                raise RewardkitError(f"{where}: refs is not a list")
            items.append(
                Rated(
                    _image_bytes(_field(row, ("image",), where), where),
                    _norm(_field(row, ("cand",), where)),
                    [_norm(r) for r in refs],
                    _score(_field(row, ("score",), where), where),
                )
            )
            if limit is not None and len(items) >= limit:
                break
        out[aspect] = items
    if not out:
        raise RewardkitError(
            f"{data_dir}: no LongCap-Arena split (data/dci_val.desc-*.parquet ... data/dci_test.flu-*.parquet)"
        )
    return out

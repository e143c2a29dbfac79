"""Composite, Nebula and LongCap-Arena: the human-judgment sets CaptionEvalKit-for-VLMs reads.

Read from the copies their Hugging Face datasets publish, as CaptionEvalKit-for-VLMs reads them
(capevalkit/infrastructure/benchmarks/legacy.py; data_cards/reward-benchmarks.md).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rewardkit.bench.judgment_items import Rated, _field, _image, _norm, _score
from rewardkit.errors import RewardkitError


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

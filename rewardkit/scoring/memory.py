"""Score rows held in memory with a preset and summarise them; OUT and its sidecars are written at the edge.

What ``rewardkit bench`` runs on the captions it generated: the same batches, records, component
statistics and summary as ``rewardkit score`` on a file of these rows, without writing the rows
to a file and reading them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardkit.functional.ptb import is_empty_caption
from rewardkit.scoring.core import score_rows
from rewardkit.scoring.row import Row, key_digest
from rewardkit.scoring.stats import ComponentStats
from rewardkit.scoring.summary import summarise, wants_corpus


@dataclass
class HeldScores:
    """The records of held rows (one per row, in order) and their summary."""

    records: list[dict[str, Any]]
    summary: dict[str, Any]


def score_held_rows(
    rows: Sequence[Row],
    preset: Any,
    *,
    captions: str | Path,
    device: str = "auto",
    dtype: str = "fp32",
    batch_size: int = 32,
    workers: int | None = None,
    java_tokenizer: bool = False,
    out: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> HeldScores:
    """Build ``preset``'s reward once, score ``rows`` (:func:`rewardkit.scoring.core.score_rows`) and summarise.

    ``captions`` names the rows' source in the summary and in row errors. With ``out``, the
    records go to ``out`` with its fingerprints, ``.meta.json`` and ``.summary.json``, as
    ``rewardkit score -o out`` writes them (so the file can be resumed or scored again).
    """
    from rewardkit.presets import build_evaluator, build_reward, load_preset
    from rewardkit.scoring.plan import built_setup

    spec = load_preset(preset)
    reward = build_reward(spec, device=device, dtype=dtype, batch_size=batch_size)
    records = score_rows(rows, reward, batch_size, workers=workers, path=captions, progress=progress)
    stats = ComponentStats()
    for i in range(0, len(records), batch_size):  # batch by batch, as the file pipeline merges them
        stats.add_many(records[i : i + batch_size])
    corpus = [(r, rec) for r, rec in zip(rows, records) if wants_corpus(r, bool(spec.evaluator))]
    with_image = any(r.has_image for r, _ in corpus)
    evaluator = (
        build_evaluator(spec, device=device, dtype=dtype, batch_size=batch_size)
        if spec.evaluator and with_image
        else None
    )
    summary = summarise(
        [r for r, _ in corpus],
        [rec for _, rec in corpus],
        evaluator,
        preset=spec.name,
        captions=captions,
        weights=reward.weights,
        empty_captions=sum(1 for r in rows if is_empty_caption(r.caption)),
        components=stats.result(),
        n_scored=stats.rows,
        strict=bool(reward.uses_images),
        java_tokenizer=java_tokenizer,
        has_evaluator=bool(spec.evaluator),
    )
    if out is not None:
        write_held(out, rows, records, built_setup(reward, dtype, batch_size), summary)
    return HeldScores(records, summary)


def write_held(
    out: Path, rows: Sequence[Row], records: Sequence[dict[str, Any]], setup: dict[str, Any], summary: dict
) -> None:
    """OUT (records in row order, with their fingerprints), ``OUT.meta.json`` and ``OUT.summary.json``,
    a previous run's files replaced; OUT's lock is held meanwhile."""
    from rewardkit.scoring.finish import write_summary
    from rewardkit.scoring.lock import output_lock
    from rewardkit.scoring.output import OutWriter, jsonl_bytes
    from rewardkit.scoring.resume import prepare_out

    with output_lock(out):
        prepare_out(out, setup)
        writer = OutWriter(out)
        try:
            writer.write(
                (g, key_digest(r.key), r.fingerprint_bytes(), jsonl_bytes(rec))
                for g, (r, rec) in enumerate(zip(rows, records))
            )
        finally:
            writer.close()
        write_summary(out, summary)

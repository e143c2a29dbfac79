"""The score pipeline: a check pass, then rows -> fixed batches -> reward components -> OUT.jsonl -> summary.

Two streaming passes over the captions file, neither holding the rows in memory:

1. **check** (:func:`check_input`, before any model loads): every row is read and validated
   (format, required keys, duplicate ids, image files present), the rows are counted and their
   fingerprints hashed; with ``--resume`` OUT's rows are checked against the input in the same
   pass. A user mistake is answered here, in about the time it takes to read the file.
2. **score** (:func:`run_score`): rows are read again, cut into fixed batches in input order,
   scored and appended to OUT; the fingerprints hashed in this pass must equal the check pass's,
   so the rows scored are the rows checked and summarised (a file changed under the run is
   refused).

Standard input (``-``) is read once: its rows are checked as they are scored.

The data flows one way through these modules: :mod:`~rewardkit.scoring.plan` (options, the preset's
plan, the built reward), :mod:`~rewardkit.scoring.check` (the check pass),
:mod:`~rewardkit.scoring.core` (batches -> records, in memory), this module (the score pass),
:mod:`~rewardkit.scoring.finish` (merge, errors file, :mod:`~rewardkit.scoring.summary`); OUT's
files are :mod:`~rewardkit.scoring.output`, :mod:`~rewardkit.scoring.resume` and
:mod:`~rewardkit.scoring.lock`; sharded runs :mod:`~rewardkit.scoring.distributed`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.functional.ptb import is_empty_caption
from rewardkit.scoring.check import InputCheck, check_config, check_input, default_out, make_reader
from rewardkit.scoring.finish import finish
from rewardkit.scoring.output import (
    OutputError,
    OutWriter,
    jsonl_bytes,
    scan_out,
    sidecar,
)
from rewardkit.scoring.plan import Plan, ScoreConfig, Scorer, ScoreResult
from rewardkit.scoring.resume import (
    DoneCursor,
    NotPrepared,
    last_position,
    prepare_out,
    shard_path,
)
from rewardkit.scoring.row import Row, RowError, key_digest
from rewardkit.scoring.row_images import image_row_error, image_source
from rewardkit.scoring.stats import ComponentStats
from rewardkit.scoring.summary import wants_corpus

__all__ = [  # the pipeline, and the names callers of ``rewardkit score``'s library import from here
    "NotPrepared",
    "ScoreConfig",
    "ScoreResult",
    "check_config",
    "default_out",
    "finish",
    "run_score",
    "score_file",
    "sidecar",
]

try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads


def _wants_corpus(row: Row, plan: Plan) -> bool:
    return wants_corpus(row, plan.has_evaluator)


def _slim(row: Row) -> Row:
    """The row as the summary keeps it: no inline image bytes (read again by reference) and no extras."""
    return Row(
        row.line, row.id, row.caption, row.image, row.image_text, row.references, row.style,
        {}, row.implicit_id, None, row.image_ref, row.where,
    )  # fmt: skip


def run_score(
    config: ScoreConfig,
    *,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    sync: Callable[[str | None], list[str | None]] | None = None,
    stage: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Score a captions file into ``config.out`` (this process's part file when ``world > 1``).

    Rank 0 runs the check pass (:func:`check_input`) before any model loads and reports the row
    total; then the models load and the rows stream through fixed batches of ``batch_size`` in
    input order, so a resumed run scores exactly the batches an uninterrupted run would; a
    batch-dependent reward (Φ) is computed over the whole batch even when part of it is already in
    OUT, so resumed values equal an uninterrupted run's. With ``on_error="fail"`` the first bad row
    raises :class:`RowError` after the rows before it are written. With ``world > 1``, ``sync``
    gathers every rank's failure so that all stop together.
    """
    plan = Plan(config)
    if config.device not in (None, "auto") and (plan.models() or plan.has_evaluator):
        from rewardkit.backends.base import resolve_device

        resolve_device(config.device)  # an option mistake: said before the rows are read

    def check_rows() -> InputCheck | None:
        if config.stdin:
            return None
        found = check_input(config, plan)
        if on_total is not None:
            on_total(found.rows - found.keep)
        return found

    check: InputCheck | None = _on_rank0(rank, sync, check_rows)
    if stage is not None:
        models = plan.models()
        stage(f"loading {', '.join(models)}" if models else "loading rewards")
    scorer = Scorer(config, plan)
    _on_rank0(rank, sync, lambda: prepare_out(config.out, scorer.setup(), resume=config.resume))
    if stage is not None:
        stage("scoring")
    keep = check.keep if check is not None else 0
    if rank != 0 and config.resume:
        n, _, n_fp = scan_out(config.out)
        keep = min(n, n_fp)
    result = _stream(config, plan, scorer, rank, world, keep, check, progress)
    result.scorer = scorer
    if check is not None and check.unknown_keys:
        first = sorted(check.unknown_keys.items(), key=lambda kv: kv[1])
        result.notes.append(
            "rows have keys rewardkit does not read: "
            + ", ".join(f"{k!r} (first at row {pos})" for k, pos in first[:5])
        )
    return result


def _stream(
    config: ScoreConfig,
    plan: Plan,
    scorer: Scorer,
    rank: int,
    world: int,
    keep: int,
    check: InputCheck | None,
    progress: Callable[[int], None] | None,
) -> ScoreResult:
    """The score pass: read, batch, score and append, keeping only the current batch in memory."""
    result = ScoreResult(out=config.out, stats=ComponentStats())
    stats = result.stats
    assert stats is not None
    fail = config.on_error == "fail"
    bs = config.batch_size
    cursor = DoneCursor(config.out, keep) if keep else None
    last_out = last_position(config.out, keep)
    reader = make_reader(config, plan.needs_images)
    if check is not None:  # duplicates found by the check pass: no per-row memory (other ranks keep a KeySet)
        reader.known_duplicates = check.duplicates
    keep_corpus = config.summary and rank == 0
    writers: dict[Path, OutWriter] = {}

    def writer_for(g: int) -> OutWriter:
        path = shard_path(config.out, rank) if world > 1 or g <= last_out else config.out
        w = writers.get(path)
        if w is None:
            if path != config.out:
                result.needs_merge = True
            w = writers[path] = OutWriter(path)
        return w

    def process(batch: list[tuple[int, Row, bytes, bytes, bytes | None]], prepared: list[Any]) -> None:
        todo = [e for e in batch if e[4] is None]
        loaded = {id(e): p for e, p in zip(batch, prepared)}
        failure_row: RowError | None = None
        scored: list[tuple[int, Row, bytes, bytes, dict[str, Any]]] = []
        if todo:
            # Only a batch-dependent reward needs the rows already done to score the rest exactly.
            batch_rows = batch if scorer.batch_dependent else todo
            good, images = [], []
            for e in batch_rows:
                row = e[1]
                if scorer.needs_images and row.has_image:
                    try:
                        images.append(row_image(row, loaded[id(e)], config.captions))
                    except RowError as exc:
                        if e[4] is None:
                            if fail:
                                failure_row = exc
                                break
                            result.errors.append(exc)
                        continue
                good.append(e)
            if good and (failure_row is None or not scorer.batch_dependent):
                records = scorer.score_batch([e[1] for e in good], images if scorer.needs_images else None)
                scored = [(e[0], e[1], e[2], e[3], rec) for e, rec in zip(good, records) if e[4] is None]
        by_writer: dict[OutWriter, list[tuple[int, bytes, bytes, bytes]]] = {}
        for g, _row, kd, fp, rec in scored:
            by_writer.setdefault(writer_for(g), []).append((g, kd, fp, jsonl_bytes(rec)))
        for w, lines in by_writer.items():
            w.write(lines)
        result.scored += len(scored)
        if world == 1:
            new = iter(scored)
            nxt = next(new, None)
            recs = []
            for g, row, _, _, raw in batch:
                if raw is not None:
                    recs.append(_loads(raw))
                elif nxt is not None and nxt[0] == g:
                    recs.append(nxt[4])
                    nxt = next(new, None)
                else:
                    continue
                if keep_corpus and _wants_corpus(row, plan):
                    result.corpus.append((g, _slim(row)))
                    result.records.append(recs[-1])
            stats.add_many(recs)
        if progress is not None:
            progress(len(todo))
        if failure_row is not None:
            raise failure_row

    if world == 1:
        writer_for(last_out + 1)  # OUT exists (maybe empty) once a run has started
    seen = [-1]  # the last row position read (duplicates included)

    def batches() -> Iterator[list[Any]]:
        """Batches of this rank's rows, read as a stream; a fatal row error comes as a ``_Fatal`` batch
        after the rows before it, so the image pipeline's read-ahead never skips their writing."""
        batch: list[tuple[int, Row, bytes, bytes, bytes | None]] = []
        g = -1
        for item in reader:
            if isinstance(item, RowError):
                if item.duplicate:
                    g += 1
                if fail:
                    if batch and not scorer.batch_dependent:
                        yield batch
                    seen[0] = g
                    yield _Fatal(item)
                    return
                if rank == 0 or world == 1:
                    result.errors.append(item)
                continue
            g += 1
            if (rank == 0 or world == 1) and is_empty_caption(item.caption):
                result.empty_captions += 1
            kd = key_digest(item.key)
            fp = item.fingerprint_bytes()
            raw = cursor.match(g, item, kd, fp) if cursor is not None else None
            if raw is not None:
                result.skipped_existing += 1
            if world > 1 and keep_corpus and _wants_corpus(item, plan):
                result.corpus.append((g, _slim(item)))
            if (g // bs) % world == rank:
                batch.append((g, item, kd, fp, raw))
            if g % bs == bs - 1:
                if batch:
                    yield batch
                batch = []
        seen[0] = g
        if batch:
            yield batch

    needs_images, batch_dependent = scorer.needs_images, scorer.batch_dependent

    def source(e: tuple[int, Row, bytes, bytes, bytes | None]) -> Any:
        """What the pipeline loads for a row: its image when this run scores it, else nothing."""
        row = e[1]
        if not (needs_images and row.has_image and (batch_dependent or e[4] is None)):
            return None
        return image_source(row)

    try:
        with scorer.image_pipeline() as pipe:
            for batch, prepared in pipe.map_batches(batches(), source):
                if isinstance(batch, _Fatal):
                    raise batch.error
                process(batch, prepared)
        if seen[0] < 0 and not result.errors and config.stdin:
            raise RewardkitError("standard input: empty, no rows to score")
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except OutputError:
                pass
        raise
    for w in writers.values():
        w.close()
    result.digest = reader.digest.hexdigest()
    if check is not None and result.digest != check.digest:
        raise OutputError(
            f"{config.captions}: changed while it was being scored (its rows differ from those checked when the "
            f"run started); {config.out} may hold rows of both versions: rerun without --resume"
        )
    result.errors.sort(key=lambda e: e.line)
    return result


def _on_rank0(
    rank: int, sync: Callable[[str | None], list[str | None]] | None, step: Callable[[], Any]
) -> Any:
    """Run ``step`` on rank 0; with ``sync`` (a sharded run) every rank learns of its failure and stops."""
    value, failure = None, None
    if rank == 0:
        try:
            value = step()
        except RewardkitError as exc:
            if sync is None:
                raise
            failure = str(exc)
    if sync is not None:
        problems = [f for f in sync(failure) if f]
        if problems:
            raise NotPrepared(problems[0])
    return value


class _Fatal(list):
    """An empty batch carrying the row error that ends a ``--on-error fail`` run."""

    def __init__(self, error: RowError) -> None:
        super().__init__()
        self.error = error


def row_image(row: Row, prepared: Any, path: Path | str) -> Any:
    """The pipeline's image of a row, or its :class:`RowError` (a bad image is that row's error, with its line)."""
    from rewardkit.io.images import ImageError

    if isinstance(prepared, ImageError):
        raise image_row_error(row, path, prepared)
    if prepared is None:
        raise row.error(path, "the row has no image")
    return prepared


def score_file(config: ScoreConfig, **kwargs: Any) -> ScoreResult:
    """One process: hold OUT's lock, check, score and summarise (what ``rewardkit score`` runs)."""
    from rewardkit.scoring.lock import output_lock

    stage = kwargs.pop("stage", None)
    check_config(config)
    with output_lock(config.out):
        return finish(config, run_score(config, stage=stage, **kwargs), stage=stage)

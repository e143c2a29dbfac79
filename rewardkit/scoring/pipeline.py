"""The score pipeline: rows -> fixed batches -> reward components -> OUT.jsonl (flushed per batch) -> summary."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.scoring.output import (
    OutputError,
    atomic_write_text,
    check_resume,
    describe_os_error,
    jsonl_line,
    read_meta,
    sidecar,
    write_meta,
)
from rewardkit.scoring.rows import Row, RowError, image_row_error, read_rows, row_key


@dataclass
class ScoreConfig:
    """Options of one ``rewardkit score`` run."""

    captions: Path
    out: Path
    preset: str = "toy"
    rewards: list[str] | None = None
    image_root: Path | None = None
    on_error: str = "fail"
    resume: bool = False
    batch_size: int = 32
    device: str = "auto"
    dtype: str = "fp32"
    allow_outside_root: bool = False
    java_tokenizer: bool = False
    summary: bool = True
    workers: int | None = (
        None  # image pipeline threads (rewardkit.io.pipeline); None: from the cores, 0: in-process
    )


@dataclass
class ScoreResult:
    """What a run did: rows written, bad rows, the summary and where things went."""

    scored: int = 0
    skipped_existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None


def default_out(captions: Path) -> Path:
    """``captions.jsonl`` -> ``captions.scores.jsonl`` beside it."""
    return captions.with_name(captions.stem + ".scores.jsonl")


def read_done(out: Path, *, repair: bool = True) -> dict[str, dict[str, Any]]:
    """Rows already in OUT by id key; a torn last line (a crash mid-write) is dropped from the file."""
    done: dict[str, dict[str, Any]] = {}
    if not out.exists():
        return done
    good_bytes = 0
    try:
        with open(out, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except (ValueError, RecursionError):
                    break
                if not raw.endswith(b"\n") or not isinstance(rec, dict) or "id" not in rec:
                    break
                done[row_key(rec["id"])] = rec
                good_bytes += len(raw)
        if repair and good_bytes != out.stat().st_size:
            with open(out, "r+b") as fh:
                fh.truncate(good_bytes)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None
    return done


def _needs_images(reward: Any) -> bool:
    from rewardkit.registry import TEXT_ONLY_REWARDS

    return any(getattr(c.reward, "name", "") not in TEXT_ONLY_REWARDS for c in reward.components)


def _json_value(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


class Scorer:
    """Scores rows with a preset's reward, batch by batch, appending to OUT."""

    def __init__(self, config: ScoreConfig) -> None:
        from rewardkit.presets import build_evaluator, build_reward, load_preset

        self.config = config
        self.preset = load_preset(config.preset)
        self.reward = build_reward(
            self.preset,
            only=config.rewards,
            device=config.device,
            dtype=config.dtype,
            batch_size=config.batch_size,
        )
        self.needs_images = _needs_images(self.reward)
        self._evaluator_factory = lambda: build_evaluator(
            self.preset, device=config.device, dtype=config.dtype, batch_size=config.batch_size
        )
        self.batch_dependent = any(
            getattr(c.reward, "batch_dependent", False) for c in self.reward.components
        )

    def setup(self) -> dict[str, Any]:
        """What decides every row's scores besides the row: components, weights, models, options, dtype."""
        from rewardkit.presets import model_identity, model_spec

        specs = {c.name: c for c in self.preset.components}
        comps: dict[str, Any] = {}
        for c in self.reward.components:
            spec = specs[c.name]
            entry: dict[str, Any] = {"reward": spec.reward, "weight": c.weight, "options": dict(spec.options)}
            if spec.model:  # what decides its outputs, not the folder it is installed in
                entry["model"] = model_identity(model_spec(spec.model, self.preset))
            comps[c.name] = entry
        setup: dict[str, Any] = {"components": comps, "dtype": self.config.dtype}
        if self.batch_dependent:  # Φ is computed over each batch: its values depend on the batching
            setup["batch_size"] = self.config.batch_size
        return setup

    def image_pipeline(self) -> Any:
        """The parallel image pipeline for this reward's models (``workers`` threads; see rewardkit.io.pipeline)."""
        from rewardkit.io.pipeline import ImagePipeline, model_transforms

        return ImagePipeline(
            model_transforms(self.reward) if self.needs_images else [], workers=self.config.workers
        )

    def image_source(self, done: Any) -> Callable[[Row], Any]:
        """What the pipeline loads for a row: its image file when this run needs it, else nothing."""
        needed = self.needs_images

        def source(r: Row) -> Any:
            use = r.image is not None and needed and (self.batch_dependent or r.key not in done)
            return r.image if use else None

        return source

    def score_batch(self, rows: Sequence[Row], images: Sequence[Any] | None) -> list[dict[str, Any]]:
        """Output records of one batch of good rows."""
        from rewardkit.backends.base import image_key

        inputs: dict[str, Any] = {"references": [r.references for r in rows]}
        if all("ended_with_eos" in r.extra for r in rows):
            inputs["ended_with_eos"] = [bool(r.extra["ended_with_eos"]) for r in rows]
        if images is not None:
            inputs["images"] = list(images)
            inputs["image_keys"] = [image_key(im) for im in images]  # a prepared image keeps its own
        from rewardkit.rewards.groups import score_components_grouped

        # Φ (batch-dependent) over distinct images: a batch repeating an image is split into groups
        values = score_components_grouped(
            self.reward, [r.caption for r in rows], inputs.get("image_keys") or [r.id for r in rows], **inputs
        )
        return [{"id": r.id, **{k: _json_value(v[i]) for k, v in values.items()}} for i, r in enumerate(rows)]


class NotPrepared(RewardkitError):
    """OUT was not prepared (in use, or a resume refused): nothing may be merged into it."""


def shard_path(out: Path, rank: int) -> Path:
    """This process's part file when scoring is sharded."""
    return sidecar(out, f".part{rank}.jsonl")


def _parts(out: Path) -> list[Path]:
    """Every part file beside OUT (of any earlier world size too)."""
    prefix = sidecar(out, ".part").name
    return sorted(
        p for p in out.parent.glob(prefix + "*.jsonl") if p.name[len(prefix) : -len(".jsonl")].isdigit()
    )


def prepare_out(config: ScoreConfig, setup: dict[str, Any], rows: Sequence[Row]) -> None:
    """Before any row is written: check a resume against what produced OUT, clear a fresh run's files, record the meta.

    A resume against other input rows or another reward setup is refused; a summary never
    outlives the rows it describes (it is removed here and written again at the end).
    """
    out = config.out
    fps = {r.key: (r.line, r.fingerprint()) for r in rows}
    if config.resume:
        done = read_done(out)
        for part in _parts(out):
            done.update(read_done(part))
        check_resume(out, read_meta(out), setup, fps, list(done))
        stale = [sidecar(out, ".summary.json")]
    else:
        stale = [out, sidecar(out, ".summary.json"), sidecar(out, ".errors.jsonl"), *_parts(out)]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for path in stale:
            path.unlink(missing_ok=True)
        write_meta(out, setup, fps)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None


def run_score(
    config: ScoreConfig,
    *,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    sync: Callable[[str | None], list[str | None]] | None = None,
) -> ScoreResult:
    """Score a captions file into ``config.out`` (this process's shard when ``world > 1``).

    Rows are cut into fixed batches of ``batch_size`` in input order, so a resumed run scores
    exactly the batches an uninterrupted run would; a batch-dependent reward (Φ) is computed over
    the whole batch even when part of it is already in OUT, so resumed values equal an
    uninterrupted run's. With ``on_error="fail"`` the first bad row raises :class:`RowError`
    after the rows before it are written. Rank 0 prepares OUT (``prepare_out``); with
    ``world > 1``, ``sync`` gathers every rank's failure so that all stop together.
    """
    scorer = Scorer(config)
    rows, errors = read_rows(
        config.captions,
        image_root=config.image_root,
        needs_image=scorer.needs_images,
        allow_outside_root=config.allow_outside_root,
    )
    if errors and config.on_error == "fail":
        raise errors[0]
    failure: str | None = None
    if rank == 0:
        try:
            prepare_out(config, scorer.setup(), rows)
        except RewardkitError as exc:
            if sync is None:
                raise
            failure = str(exc)
    if sync is not None:
        problems = [f for f in sync(failure) if f]
        if problems:
            raise NotPrepared(problems[0])
    out = config.out if world == 1 else shard_path(config.out, rank)
    result = ScoreResult(errors=list(errors), out=config.out)
    done = read_done(config.out, repair=rank == 0) if config.resume else {}
    if world > 1 and config.resume:
        done.update(read_done(out))
    batches = [rows[i : i + config.batch_size] for i in range(0, len(rows), config.batch_size)]
    mine = [b for k, b in enumerate(batches) if k % world == rank]
    todo = [b for b in mine if any(r.key not in done for r in b)]
    n_todo = sum(1 for b in todo for r in b if r.key not in done)
    result.skipped_existing = sum(len(b) for b in mine) - n_todo
    if on_total is not None:
        on_total(n_todo)
    try:
        fh = open(out, "a", encoding="utf-8")
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None
    pipe = scorer.image_pipeline()
    with fh, pipe:
        for batch, prepared in pipe.map_batches(todo, scorer.image_source(done)):
            # Only a batch-dependent reward needs the rows already done to score the rest exactly.
            batch_rows = batch if scorer.batch_dependent else [r for r in batch if r.key not in done]
            loaded = {id(r): p for r, p in zip(batch, prepared)}
            good, images = [], []
            failure_row: RowError | None = None
            for r in batch_rows:
                if r.image is not None and scorer.needs_images:
                    try:
                        images.append(row_image(r, loaded[id(r)], config.captions))
                    except RowError as exc:
                        if config.on_error == "fail" and r.key not in done:
                            failure_row = exc
                            break
                        if r.key not in done:
                            result.errors.append(exc)
                        continue
                good.append(r)
            # A failing batch still writes the rows before the bad one, unless their values depend on the whole batch.
            partial_ok = failure_row is None or not scorer.batch_dependent
            if good and partial_ok:
                records = scorer.score_batch(good, images if scorer.needs_images else None)
                new = [rec for rec, r in zip(records, good) if r.key not in done]
                try:
                    for rec in new:
                        fh.write(jsonl_line(rec))
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError as exc:
                    raise OutputError(describe_os_error(out, exc)) from None
                result.scored += len(new)
            if progress is not None:
                progress(sum(1 for r in batch if r.key not in done))
            if failure_row is not None:
                raise failure_row
    result.errors.sort(key=lambda e: e.line)
    return result


def row_image(row: Row, prepared: Any, path: Path) -> Any:
    """The pipeline's image of a row, or its :class:`RowError` (a bad image is that row's error, with its line)."""
    from rewardkit.io.images import ImageError

    if isinstance(prepared, ImageError):
        raise image_row_error(row, path, prepared)
    return prepared


def finish(config: ScoreConfig, result: ScoreResult, *, world: int = 1, quiet: bool = False) -> ScoreResult:
    """Merge shards, put OUT in input order, write the errors file and the summary."""
    from rewardkit.scoring.summary import summarise

    rows, _ = read_rows(
        config.captions, image_root=config.image_root, needs_image=False, allow_outside_root=True
    )
    done = read_done(config.out) if config.out.exists() else {}
    parts = _parts(config.out)
    for part in parts:
        done.update(read_done(part))
    order = [r.key for r in rows if r.key in done]
    errors_path = sidecar(config.out, ".errors.jsonl")
    try:
        atomic_write_text(config.out, "".join(jsonl_line(done[k]) for k in order))
        for part in parts:
            part.unlink(missing_ok=True)
        if result.errors:
            atomic_write_text(errors_path, "".join(jsonl_line(e.record()) for e in result.errors))
        else:
            errors_path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(config.out, exc)) from None
    if config.summary:
        scored_rows = [r for r in rows if r.key in done]
        summary = summarise(config, scored_rows, [done[r.key] for r in scored_rows], result)
        try:
            atomic_write_text(
                sidecar(config.out, ".summary.json"), json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
            )
        except OSError as exc:
            raise OutputError(describe_os_error(sidecar(config.out, ".summary.json"), exc)) from None
        result.summary = summary
    return result


def score_file(config: ScoreConfig, **kwargs: Any) -> ScoreResult:
    """One process: hold OUT's lock, score, merge and summarise (what ``rewardkit score`` runs)."""
    from rewardkit.scoring.output import output_lock

    check_config(config)
    with output_lock(config.out):
        return finish(config, run_score(config, **kwargs))


def check_config(config: ScoreConfig) -> None:
    """Refuse option mistakes before any model loads."""
    if config.on_error not in ("fail", "skip"):
        raise RewardkitError(f"--on-error must be 'fail' or 'skip', not {config.on_error!r}")
    if config.batch_size < 1:
        raise RewardkitError(f"--batch-size must be at least 1, not {config.batch_size}")
    if config.out.resolve() == config.captions.resolve():
        raise RewardkitError("the output file must differ from the captions file")
    if config.out.is_dir():
        raise OutputError(f"{config.out}: is a directory; choose a file name for -o")

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
from rewardkit.scoring.rows import Row, RowError, load_image, read_rows


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


def sidecar(out: Path, suffix: str) -> Path:
    """``OUT.jsonl`` -> ``OUT<suffix>`` (e.g. ``.summary.json``, ``.errors.jsonl``)."""
    name = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(name + suffix)


def read_done(out: Path) -> dict[Any, dict[str, Any]]:
    """Rows already in OUT by id; a torn last line (a crash mid-write) is dropped from the file."""
    done: dict[Any, dict[str, Any]] = {}
    if not out.exists():
        return done
    good_bytes = 0
    with open(out, "rb") as fh:
        for raw in fh:
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if not raw.endswith(b"\n") or not isinstance(rec, dict) or "id" not in rec:
                break
            done[rec["id"]] = rec
            good_bytes += len(raw)
    if good_bytes != out.stat().st_size:
        with open(out, "r+b") as fh:
            fh.truncate(good_bytes)
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

    def score_batch(self, rows: Sequence[Row], images: Sequence[Any] | None) -> list[dict[str, Any]]:
        """Output records of one batch of good rows."""
        from rewardkit.backends.base import file_key

        inputs: dict[str, Any] = {"references": [r.references for r in rows]}
        if all("ended_with_eos" in r.extra for r in rows):
            inputs["ended_with_eos"] = [bool(r.extra["ended_with_eos"]) for r in rows]
        if images is not None:
            inputs["images"] = list(images)
            inputs["image_keys"] = [file_key(r.image) for r in rows]
        values = self.reward.score_components([r.caption for r in rows], **inputs)
        return [{"id": r.id, **{k: _json_value(v[i]) for k, v in values.items()}} for i, r in enumerate(rows)]


def run_score(
    config: ScoreConfig,
    *,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score a captions file into ``config.out`` (this process's shard when ``world > 1``).

    Rows are cut into fixed batches of ``batch_size`` in input order, so a resumed run scores
    exactly the batches an uninterrupted run would. With ``on_error="fail"`` the first bad row
    raises :class:`RowError` after the rows before it are written.
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
    out = config.out if world == 1 else shard_path(config.out, rank)
    result = ScoreResult(errors=list(errors), out=config.out)
    done = read_done(config.out) if config.resume else {}
    if world > 1 and config.resume:
        done.update(read_done(out))
    elif not config.resume and out.exists():
        out.unlink()
    batches = [rows[i : i + config.batch_size] for i in range(0, len(rows), config.batch_size)]
    mine = [b for k, b in enumerate(batches) if k % world == rank]
    todo = [[r for r in b if r.id not in done] for b in mine]
    result.skipped_existing = sum(len(b) for b in mine) - sum(len(b) for b in todo)
    if on_total is not None:
        on_total(sum(len(b) for b in todo))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a", encoding="utf-8") as fh:
        for batch in todo:
            if not batch:
                continue
            good, images = [], []
            failure: RowError | None = None
            for r in batch:
                if r.image is not None and scorer.needs_images:
                    try:
                        images.append(load_image(r, config.captions))
                    except RowError as exc:
                        if config.on_error == "fail":
                            failure = exc
                            break
                        result.errors.append(exc)
                        continue
                good.append(r)
            if good:
                records = scorer.score_batch(good, images if scorer.needs_images else None)
                for rec in records:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                result.scored += len(records)
            if progress is not None:
                progress(len(batch))
            if failure is not None:
                raise failure
    result.errors.sort(key=lambda e: e.line)
    return result


def shard_path(out: Path, rank: int) -> Path:
    """This process's part file when scoring is sharded."""
    return sidecar(out, f".part{rank}.jsonl")


def finish(config: ScoreConfig, result: ScoreResult, *, world: int = 1, quiet: bool = False) -> ScoreResult:
    """Merge shards, put OUT in input order, write the errors file and the summary."""
    from rewardkit.scoring.summary import summarise

    rows, _ = read_rows(
        config.captions, image_root=config.image_root, needs_image=False, allow_outside_root=True
    )
    done = read_done(config.out) if config.out.exists() else {}
    if world > 1:
        for rank in range(world):
            part = shard_path(config.out, rank)
            done.update(read_done(part))
    order = [r.id for r in rows if r.id in done]
    tmp = config.out.with_name(config.out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rid in order:
            fh.write(json.dumps(done[rid], ensure_ascii=False) + "\n")
    os.replace(tmp, config.out)
    if world > 1:
        for rank in range(world):
            shard_path(config.out, rank).unlink(missing_ok=True)
    errors_path = sidecar(config.out, ".errors.jsonl")
    if result.errors:
        with open(errors_path, "w", encoding="utf-8") as fh:
            for e in result.errors:
                fh.write(json.dumps(e.record(), ensure_ascii=False) + "\n")
    elif errors_path.exists():
        errors_path.unlink()
    if config.summary:
        scored_rows = [r for r in rows if r.id in done]
        summary = summarise(config, scored_rows, [done[r.id] for r in scored_rows], result)
        tmp = sidecar(config.out, ".summary.json.tmp")
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, sidecar(config.out, ".summary.json"))
        result.summary = summary
    return result


def check_config(config: ScoreConfig) -> None:
    """Refuse option mistakes before any model loads."""
    if config.on_error not in ("fail", "skip"):
        raise RewardkitError(f"--on-error must be 'fail' or 'skip', not {config.on_error!r}")
    if config.batch_size < 1:
        raise RewardkitError(f"--batch-size must be at least 1, not {config.batch_size}")
    if config.out.resolve() == config.captions.resolve():
        raise RewardkitError("the output file must differ from the captions file")

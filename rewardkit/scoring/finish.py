"""The end of a ``rewardkit score`` run: part files merged into OUT, the errors file, and the summary.

The summary is computed from the rows and records the run kept and the objects it built (the
reward's weights, the preset's evaluator); neither the captions file nor the preset is read again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.scoring.output import (
    OutputError,
    atomic_write_text,
    describe_os_error,
    iter_out,
    jsonl_line,
    merge_outputs,
    scan_out,
    sidecar,
)
from rewardkit.scoring.plan import ScoreConfig, ScoreResult
from rewardkit.scoring.resume import part_files
from rewardkit.scoring.row import Row
from rewardkit.scoring.stats import ComponentStats
from rewardkit.scoring.summary import summarise


def _attach_records(
    out: Path, corpus: list[tuple[int, Row]]
) -> tuple[list[Row], list[dict[str, Any]], ComponentStats]:
    """Stream OUT once: component stats, and the corpus rows that are in OUT with their records."""
    stats = ComponentStats()
    rows: list[Row] = []
    records: list[dict[str, Any]] = []
    n, _, n_fp = scan_out(out)
    j = 0
    for raw, g, _, _ in iter_out(out, min(n, n_fp)):
        rec = json.loads(raw)
        stats.add(rec)
        while j < len(corpus) and corpus[j][0] < g:
            j += 1
        if j < len(corpus) and corpus[j][0] == g:
            rows.append(corpus[j][1])
            records.append(rec)
            j += 1
    return rows, records, stats


def finish(
    config: ScoreConfig,
    result: ScoreResult,
    *,
    world: int = 1,
    quiet: bool = False,
    stage: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Merge part files (sharded runs, gap rows of a resume) in one streaming pass, write the errors file and the summary.

    A single-process run's OUT is already in input order and is not rewritten.
    """
    parts = part_files(config.out)
    if parts and (world > 1 or result.needs_merge):
        merge_outputs(config.out, parts)
    errors_path = sidecar(config.out, ".errors.jsonl")
    try:
        if result.errors:
            atomic_write_text(errors_path, "".join(jsonl_line(e.record()) for e in result.errors))
        else:
            errors_path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(config.out, exc)) from None
    if config.summary:
        if world == 1 and result.stats is not None and not result.needs_merge:
            # the corpus rows and their records were kept while scoring: OUT is not read back
            stats = result.stats
            rows, records = [r for _, r in result.corpus], result.records
        else:  # rows scored by other processes (or gap rows of a resume): their records are in OUT
            rows, records, stats = _attach_records(config.out, result.corpus)
        scorer = result.scorer
        if scorer is None:
            raise RewardkitError("finish: the result carries no scorer to summarise with")
        plan = scorer.plan
        evaluator = None
        if plan.has_evaluator and any(r.has_image for r in rows):
            if stage is not None:
                stage("computing CLIP metrics (CLIP Recall, CLIPScore, RefCLIPScore)")
            evaluator = scorer.evaluator()  # built once, from the preset the run already holds
        strict = config.on_error == "fail" and plan.needs_images  # images were checked when rewards use them
        summary = summarise(
            rows,
            records,
            evaluator,
            preset=plan.preset.name,
            captions=config.captions,
            weights=scorer.reward.weights,
            n_errors=len(result.errors),
            empty_captions=result.empty_captions,
            notes=result.notes,
            components=stats.result(),
            n_scored=stats.rows,
            strict=strict,
            java_tokenizer=config.java_tokenizer,
            has_evaluator=plan.has_evaluator,
            stage=stage,
        )
        write_summary(config.out, summary)
        result.summary = summary
    return result


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    """``OUT.summary.json``, written atomically."""
    path = sidecar(out, ".summary.json")
    try:
        atomic_write_text(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None

"""Sharded scoring over ``torch.distributed`` (``accelerate launch`` / ``torchrun``): each process scores every
``world``-th batch into its part file; rank 0 merges them in input order and summarises.

Every process learns of any process's failure (a refused OUT, a bad row, a file changed under the
run), so all stop together, and exactly one line reaches the user.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.scoring.finish import finish
from rewardkit.scoring.lock import output_lock
from rewardkit.scoring.pipeline import run_score
from rewardkit.scoring.plan import ScoreConfig, ScoreResult
from rewardkit.scoring.resume import NotPrepared


def dist_env() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment (accelerate launch / torchrun)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class ShardedOutcome:
    """What a sharded run ends with: its exit code (the largest of all ranks'), and on rank 0 the merged
    result or the first failure of any rank."""

    code: int
    result: ScoreResult | None = None
    error: str | None = None


def score_sharded(
    config: ScoreConfig,
    rank: int,
    world: int,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    stage: Callable[[str], None] | None = None,
) -> ShardedOutcome:
    """Join the process group, score this rank's batches, gather failures, merge and summarise on rank 0.

    ``progress`` is told each batch this rank scores (rows); the group is left before returning.
    """
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available() and config.device in ("auto", "cuda"):
        config.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend)

    def gather(value: Any) -> list[Any]:
        out: list[Any] = [None] * world
        dist.all_gather_object(out, value)
        return out

    failure: str | None = None
    result: ScoreResult | None = None
    lock = output_lock(config.out) if rank == 0 else contextlib.nullcontext()
    try:
        lock.__enter__()
    except RewardkitError as exc:
        failure = str(exc)
    locked = [f for f in gather(failure) if f]
    untouched = bool(locked)  # OUT is another run's or a resume was refused: merge nothing into it
    try:
        if locked:
            raise RewardkitError(locked[0])
        result = run_score(
            config, rank=rank, world=world, progress=progress, on_total=on_total, sync=gather, stage=stage
        )
    except NotPrepared as exc:
        failure, untouched = str(exc), True
    except RewardkitError as exc:
        failure = str(exc)
    failures = gather(failure)
    errors = gather(result.errors if result else [])
    digests = gather(result.digest if result else None)
    if rank == 0 and not any(failures) and len(set(digests)) > 1:
        failures[0] = (
            f"{config.captions}: changed while it was being scored (the processes read different rows); "
            "rerun without --resume"
        )
    outcome = ShardedOutcome(0)
    if rank == 0:
        merged = ScoreResult(out=config.out)
        seen = set()
        for errs in errors:
            for e in errs:
                if e.line not in seen:
                    seen.add(e.line)
                    merged.errors.append(e)
        merged.errors.sort(key=lambda e: e.line)
        problems = [f for f in failures if f]
        if problems:
            config.summary = False
            if not untouched:
                finish(config, merged, world=world)
            outcome = ShardedOutcome(2, error=sorted(problems)[0])
        else:
            if result is not None:
                merged.corpus, merged.notes, merged.scorer = result.corpus, result.notes, result.scorer
                merged.empty_captions = result.empty_captions
            outcome = ShardedOutcome(0, result=finish(config, merged, world=world))
    outcome.code = max(gather(outcome.code))
    if rank == 0 and not locked:
        lock.__exit__(None, None, None)
    dist.barrier()
    dist.destroy_process_group()
    return outcome

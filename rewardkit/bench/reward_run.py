"""``rewardkit bench --reward``: how well a reward model agrees with people, catches foils, and resists gaming.

The runner: every reward on every benchmark, each model loaded once, each result written as it completes.
The benchmarks (:mod:`rewardkit.bench.reward_benchmarks`), what they measure
(:mod:`rewardkit.bench.reward_metrics`), the scorer (:mod:`rewardkit.bench.reward_scorer`) and the
truncation counts (:mod:`rewardkit.bench.truncation`) live beside it and are re-exported here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rewardkit.bench.reward_benchmarks import (  # noqa: F401  (re-exported: the public reward-bench API)
    REWARD_BENCHMARKS,
    REWARD_SCALE,
    Prepared,
    RewardBenchmark,
    evaluate,
    get_reward_benchmark,
    prepare_benchmark,
    total_captions,
)
from rewardkit.bench.reward_metrics import correlation_metrics, hack_metrics, pairwise_metrics  # noqa: F401
from rewardkit.bench.reward_scorer import RewardScorer, open_images  # noqa: F401
from rewardkit.bench.truncation import (  # noqa: F401
    TextWindow,
    count_truncation,
    text_windows,
    truncation_line,
    truncation_summary,
)


def make_scorer(reward: str, *, device: str = "auto", batch_size: int = 32) -> Any:
    """``capevalkit:FILE[#KEY]`` (CaptionEvalKit per-sample scores) or a preset / ``PRESET:COMPONENT``."""
    if reward.startswith("capevalkit:"):
        from rewardkit.adapters.capevalkit import ScoreFileScorer

        return ScoreFileScorer(reward)
    return RewardScorer(reward, device=device, batch_size=batch_size)


def run_reward_bench(
    reward: str,
    benchmark: str,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None = None,
    nebula_corrections: bool = True,
    scorer: Any = None,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """Score the benchmark's captions with ``reward`` and write ``OUT/<reward>__<benchmark>.json`` (``kind: "reward"``).

    ``scorer``/``prepared`` reuse a loaded model / read data across runs (:func:`run_reward_benches`).
    """
    from rewardkit.bench.benchmarks import TOY_BENCH_SEED_OFFSET
    from rewardkit.bench.run import _hardware, _versions
    from rewardkit.scoring.output import atomic_write_text

    if prepared is None:
        prepared = prepare_benchmark(
            benchmark, data_dir=data_dir, limit=limit, nebula_corrections=nebula_corrections
        )
    spec = prepared.spec
    if scorer is None:
        scorer = make_scorer(reward, device=device, batch_size=batch_size)
    done, total = [0], total_captions(prepared, limit)

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(f"{reward} on {benchmark}", done[0], max(total, done[0]))

    scene_seed = TOY_BENCH_SEED_OFFSET + seed
    if hasattr(scorer, "reset_truncation"):
        scorer.reset_truncation()  # truncation is counted per benchmark
    metrics, n = evaluate(prepared, scorer, limit=limit, scene_seed=scene_seed, tick=tick)
    truncation = getattr(scorer, "truncation", None)
    if prepared.counts:
        metrics.update(prepared.counts)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", reward).strip("_.") or "reward"
    record = {
        "kind": "reward",
        "model": reward,
        "benchmark": benchmark,
        "n": n,
        "metrics": metrics,
        "headline": spec.headline,
        "protocol": prepared.protocol,
        "truncation": truncation,
        "truncation_note": truncation_line(truncation)
        if truncation is not None
        else "scores read from a file: the scoring model's truncation is not known here",
        "config": {
            "seed": seed,
            **({"scene_seed": scene_seed} if spec.offline else {}),
            "limit": limit,
            "data_dir": str(data_dir) if data_dir else None,
            "component": getattr(scorer, "component", None),
            "weights": getattr(scorer, "weights", {}),
        },
        "versions": _versions(),
        "hardware": _hardware(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": getattr(scorer, "source", "measured by rewardkit"),
        "scale": REWARD_SCALE,
    }
    record = _finite(record)
    atomic_write_text(out / f"{slug}__{benchmark}.json", json.dumps(record, indent=2, allow_nan=False) + "\n")
    record["path"] = str(out / f"{slug}__{benchmark}.json")
    return record


def split_names(value: str) -> list[str]:
    """``A,B,C`` as a list (blanks dropped, order kept, duplicates once)."""
    return list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def run_reward_benches(
    rewards: Sequence[str],
    benchmarks: Sequence[str],
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None = None,
    nebula_corrections: bool = True,
) -> list[dict[str, Any]]:
    """Every reward on every benchmark: data read and checked first, each model loaded once, each result written as it completes."""
    for b in benchmarks:
        get_reward_benchmark(b)  # unknown names fail before anything is read
    prepared = {
        b: prepare_benchmark(b, data_dir=data_dir, limit=limit, nebula_corrections=nebula_corrections)
        for b in benchmarks
    }
    records = []
    for reward in rewards:
        if progress:
            progress(f"loading {reward}", 0, 1)
        scorer = make_scorer(reward, device=device, batch_size=batch_size)
        if progress:
            progress(f"loading {reward}", 1, 1)
        for b in benchmarks:
            records.append(
                run_reward_bench(
                    reward,
                    b,
                    data_dir=data_dir,
                    limit=limit,
                    seed=seed,
                    out=out,
                    device=device,
                    batch_size=batch_size,
                    progress=progress,
                    scorer=scorer,
                    prepared=prepared[b],
                )
            )
    return records


def headline_value(record: dict[str, Any]) -> float | None:
    """A result's headline number (None when it could not be computed)."""
    value = record["metrics"].get(record["headline"])
    return value if isinstance(value, (int, float)) else None


def results_table(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per reward, one column per benchmark (its headline), as strings; ``–`` where not computed."""
    benches = list(dict.fromkeys(r["benchmark"] for r in records))
    rewards = list(dict.fromkeys(r["model"] for r in records))
    cell = {(r["model"], r["benchmark"]): r for r in records}
    header = ["reward"] + [f"{b} ({get_reward_benchmark(b).headline})" for b in benches]
    rows = []
    for rw in rewards:
        row = [rw]
        for b in benches:
            rec = cell.get((rw, b))
            v = headline_value(rec) if rec else None
            row.append("–" if v is None else (f"{v:.3f}" if rec["headline"] == "hackability" else f"{v:.1f}"))
        rows.append(row)
    return header, rows


def _finite(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value

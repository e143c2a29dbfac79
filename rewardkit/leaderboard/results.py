"""Result JSONs read and checked for the leaderboard (one line per problem, named by file and field), and the
training curves of toy A2C result files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

CLAIM_KEYS = {
    "judge R@1": "judge_R@1",
    "claim precision": "claim_precision",
    "claim recall": "claim_recall",
    "grammatical": "grammatical",
}
"""Table columns of the toy benchmarks' held-out judge and claim metrics (``rewardkit.toy.claims``) and their keys in ``metrics``."""


CAPTION_METRICS = ("CLIPScore", "CIDEr-D", "BLEU-4", "METEOR", "ROUGE-L")


class ResultError(RewardkitError):
    """A result JSON that cannot be shown: named by file and field."""


def _drop_non_finite(value: Any, where: str, notes: list[str]) -> Any:
    """``value`` with every NaN or infinite number replaced by ``None`` (each named in ``notes``)."""
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{where} is {value}")
        return None
    if isinstance(value, dict):
        return {k: _drop_non_finite(v, f"{where}.{k}", notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_non_finite(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
    return value


def check_result(path: Path, rec: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """A result record checked field by field (model, benchmark, metrics, n, date, source).

    A NaN or infinite metric is not a number a table can rank or a plot can place: it is shown
    as "–" and left out of the plots, and named in ``notes`` (``leaderboard build`` prints them).
    """
    if not isinstance(rec, dict):
        raise ResultError(f"{path}: a result must be a JSON object, not {type(rec).__name__}")
    for key in ("model", "benchmark"):
        if key not in rec:
            raise ResultError(f"{path}: missing field {key!r}")
        if not isinstance(rec[key], str) or not rec[key]:
            raise ResultError(f"{path}: field {key!r} must be a non-empty string, not {rec[key]!r}")
    if not isinstance(rec.get("metrics"), dict):
        raise ResultError(f"{path}: field 'metrics' must be an object")
    found: list[str] = []
    rec = {**rec, "metrics": _drop_non_finite(rec["metrics"], "metrics", found)}
    if notes is not None:
        notes += [f"{path.name}: {f}: shown as \u2013 and left out of the plots" for f in found]
    recall = rec["metrics"].get("clip_recall", {})
    if not isinstance(recall, dict):
        raise ResultError(f"{path}: field 'metrics.clip_recall' must be an object")
    numbers = list(recall.items())
    numbers += [(k, rec["metrics"].get(k)) for k in (*CAPTION_METRICS, *CLAIM_KEYS.values())]
    for key, value in numbers:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ResultError(f"{path}: field 'metrics.{key}' must be a number, not {value!r}")
    if "n" in rec and rec["n"] is not None and (isinstance(rec["n"], bool) or not isinstance(rec["n"], int)):
        raise ResultError(f"{path}: field 'n' must be an integer, not {rec['n']!r}")
    for key in ("date", "source"):
        if key in rec and not isinstance(rec[key], str):
            raise ResultError(f"{path}: field {key!r} must be a string, not {rec[key]!r}")
    return rec


def load_results(results: Path, *, allow_empty: bool = False, log: Any = None) -> list[dict[str, Any]]:
    """Every result JSON under ``results`` (``rewardkit bench`` output), each checked; a missing or empty folder is an error."""
    if not results.is_dir():
        raise ResultError(
            f"--results {results}: no such folder (pass --allow-empty to build with the paper rows only)"
        )
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    notes: list[str] = []
    for path in sorted(results.glob("*.json")):
        if path.name.endswith((".predictions.json", ".meta.json", ".summary.json")):
            continue  # bench's side files: COCO-format predictions, scoring meta and summary
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ResultError(
                f"{path}: not a readable JSON file ({' '.join(str(exc).split())[:120]})"
            ) from None
        if isinstance(rec, dict) and not {"model", "benchmark", "metrics"} & set(rec):
            skipped.append(
                path.name
            )  # not a result at all (e.g. a training-curve file, read through --curve)
            continue
        rows.append(check_result(path, rec, notes))
    if skipped and log is not None:
        log(f"not results (no model, benchmark or metrics field), left out: {', '.join(skipped)}")
    for note in notes if log is not None else []:
        log(note)
    if not rows and not allow_empty:
        raise ResultError(
            f"--results {results}: no result JSONs (pass --allow-empty to build with the paper rows only)"
        )
    return rows


def _run_curves(run: Any) -> list[list[tuple[float, float]]]:
    """A run's curves: its ``curve``, or one per seed from ``seeds`` (a list, or a dict by seed, of runs with a ``curve``)."""
    if "seeds" in run:
        seeds = run["seeds"]
        seeds = list(seeds.values()) if isinstance(seeds, dict) else seeds
        return [c for seed_run in seeds for c in _run_curves(seed_run)]
    return [[(float(c["minutes"]), float(c["probe_R@1"])) for c in run.get("curve", [])]]


def _curves(path: Path) -> dict[str, list[list[tuple[float, float]]]]:
    """(minutes, probe R@1) runs of a toy_a2c result file: its ``curve``, or per preset of a toy_hard file's ``runs``.

    A run with ``seeds`` (runs of the same setting with other seeds) is drawn as its mean with a band.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs = {path.stem: data} if "runs" not in data else data["runs"]
        return {name: [c for c in _run_curves(run) if c] for name, run in runs.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ResultError(f"--curve {path}: not a toy_a2c result with a 'curve' ({exc})") from None

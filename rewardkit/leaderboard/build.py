"""The leaderboard: result JSONs -> results.csv, rewards.csv, README.md (a table per benchmark) and a static index.html.

Reading results is :mod:`rewardkit.leaderboard.results`, the tables :mod:`rewardkit.leaderboard.tables`, the
page :mod:`rewardkit.leaderboard.page`; this module writes them all at once.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from rewardkit.leaderboard.page import index_html
from rewardkit.leaderboard.results import ResultError, _curves, load_results
from rewardkit.leaderboard.study import study_html, study_markdown
from rewardkit.leaderboard.tables import COLUMNS, csv_safe, markdown, md_cell, table_rows


def build(
    results: Path,
    out: Path,
    curves_from: list[Path] | None = None,
    *,
    allow_empty: bool = False,
    log: Any = None,
) -> dict[str, Path]:
    """Write results.csv, rewards.csv, README.md and index.html; training curves come from toy_a2c result files.

    Everything is built in a temporary folder first; the files replace the old ones only when all
    of them were built. NaN or infinite metrics are shown as "–", left out of the plots and named
    through ``log``.
    """
    import tempfile

    import pandas as pd

    from rewardkit.leaderboard.rewards import REWARD_COLUMNS, reward_html, reward_markdown, reward_rows

    everything = load_results(results, allow_empty=allow_empty, log=log)
    records = [r for r in everything if r.get("kind") != "reward"]
    rows = table_rows(records)
    rrows = reward_rows([r for r in everything if r.get("kind") == "reward"])
    curves: dict[str, list[list[tuple[float, float]]]] = {}
    studies: list[dict[str, Any]] = []
    for path in curves_from or []:
        if not path.is_file():
            raise ResultError(f"--curve {path}: no such file")
        study = _study(path)
        if study is not None:  # a seeded comparison: its own table and plots, curves over steps
            studies.append(study)
            continue
        for name, runs in _curves(path).items():
            bad = sum(not (math.isfinite(x) and math.isfinite(y)) for run in runs for x, y in run)
            if bad and log is not None:
                log(f"--curve {path.name}: {name}: {bad} non-finite points left out of the plot")
            if runs:
                curves[name] = runs
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = {"csv": "results.csv", "rewards": "rewards.csv", "readme": "README.md", "html": "index.html"}
        with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
            staged = Path(tmp)
            frame = pd.DataFrame(rows, columns=COLUMNS)
            frame = frame.apply(lambda col: col.map(csv_safe)) if len(frame) else frame
            frame.to_csv(staged / names["csv"], index=False)
            rframe = pd.DataFrame(rrows, columns=REWARD_COLUMNS)
            rframe = rframe.apply(lambda col: col.map(csv_safe)) if len(rframe) else rframe
            rframe.to_csv(staged / names["rewards"], index=False)
            readme = markdown(rows) + "\n" + "\n".join(reward_markdown(rrows, md_cell)) + "\n"
            for study in studies:
                readme += "\n" + "\n".join(study_markdown(study["study"], md_cell)) + "\n"
            (staged / names["readme"]).write_text(readme, encoding="utf-8")
            blocks = reward_html(rrows) + [part for study in studies for part in study_html(study)]
            (staged / names["html"]).write_text(index_html(rows, records, curves, blocks), encoding="utf-8")
            for name in names.values():
                os.replace(staged / name, out / name)
    except OSError as exc:
        raise ResultError(f"{out}: cannot write the leaderboard ({exc.strerror or exc})") from None
    return {key: out / name for key, name in names.items()}


def _study(path: Path) -> dict[str, Any] | None:
    """The result file when it holds a seeded comparison (``study``), else ``None``."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultError(f"--curve {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "study" not in data:
        return None
    study = data["study"]
    if (
        not isinstance(study, dict)
        or not isinstance(study.get("arms"), dict)
        or not isinstance(study.get("differences"), dict)
    ):
        raise ResultError(f"--curve {path}: field 'study' must hold 'arms' and 'differences' objects")
    for name, arm in study["arms"].items():
        if (
            not isinstance(arm, dict)
            or not isinstance(arm.get("label"), str)
            or not isinstance(arm.get("seeds"), list)
        ):
            raise ResultError(f"--curve {path}: study.arms.{name} must be an object with 'label' and 'seeds'")
        for key, stat in arm.items():
            if key not in ("label", "seeds", "per_seed") and not (
                isinstance(stat, dict)
                and all(isinstance(stat.get(k), (int, float)) for k in ("mean", "lo", "hi"))
            ):
                raise ResultError(f"--curve {path}: study.arms.{name}.{key} must hold numbers mean, lo, hi")
    for pair, diff in study["differences"].items():
        if " - " not in pair or not isinstance(diff, dict):
            raise ResultError(f"--curve {path}: study.differences.{pair} must be 'B - A': an object")
    return data

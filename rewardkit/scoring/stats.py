"""Mean, std and count of every score field of OUT rows: streamed (:class:`ComponentStats`) or at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

ECHO_KEYS = ("id", "image", "caption")
"""Fields of an OUT row that are not scores: the row's id, and its image and caption unless ``--no-echo``."""


class ComponentStats:
    """Mean, std and count of every score field of OUT rows, accumulated as rows stream (Welford)."""

    def __init__(self) -> None:
        self._acc: dict[str, list[float]] = {}
        self.rows = 0

    def add(self, rec: dict[str, Any]) -> None:
        """One OUT row."""
        self.add_many([rec])

    def add_many(self, recs: Sequence[dict[str, Any]]) -> None:
        """Several OUT rows, merged per field with Chan et al.'s parallel update (one pass over each column)."""
        if not recs:
            return
        self.rows += len(recs)
        names = [k for k in recs[0] if k not in ECHO_KEYS]
        for rec in recs[1:]:
            if len(rec) != len(recs[0]):
                names.extend(k for k in rec if k not in ECHO_KEYS and k not in names)
        for name in names:
            vals = [
                float(v)
                for v in (rec.get(name) for rec in recs)
                if v is not None and not isinstance(v, bool) and isinstance(v, (int, float)) and v == v
            ]
            if not vals:
                continue
            n_b = len(vals)
            mean_b = math.fsum(vals) / n_b
            m2_b = math.fsum((v - mean_b) ** 2 for v in vals)
            acc = self._acc.get(name)
            if acc is None:
                self._acc[name] = [float(n_b), mean_b, m2_b]
                continue
            n_a, mean_a, m2_a = acc
            n = n_a + n_b
            delta = mean_b - mean_a
            acc[0], acc[1], acc[2] = n, mean_a + delta * n_b / n, m2_a + m2_b + delta * delta * n_a * n_b / n

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, (n, mean, m2) in self._acc.items():
            var = m2 / (n - 1) if n > 1 else 0.0
            out[name] = {"mean": mean, "std": math.sqrt(max(var, 0.0)), "n": int(n)}
        return out


def component_stats(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, std and count of every numeric field but ``id`` (NaN/None values skipped)."""
    from rewardkit.functional.stats import nan_mean_std

    names: list[str] = []
    for rec in records:
        names.extend(k for k in rec if k not in ("id", "image", "caption") and k not in names)
    out = {}
    for name in names:
        vals = [
            float(r[name])
            for r in records
            if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)
        ]
        mean, std, n = nan_mean_std(vals)
        if n:
            out[name] = {"mean": mean, "std": std, "n": n}
    return out

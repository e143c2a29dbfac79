"""The rows of a reward request, checked and decoded, and scoring them batched across requests.

Row-wise components run once over the rows of all requests that carry the same inputs; batch-dependent
ones (Φ, VLRM Eq. 5) once per request, or per ``group`` value within it — so a request gets the same
values however the runner batched it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardkit.errors import RewardkitError


class BadRequest(RewardkitError):
    """A request the service refuses (HTTP 400); the message names the row and field, e.g. ``images[3]: ...``."""


@dataclass
class Rows:
    """The rows of one request, checked and decoded."""

    captions: list[str]
    images: list[Any] | None = None
    image_keys: list[str] | None = None
    references: list[list[str]] | None = None
    ended_with_eos: list[bool] | None = None
    group: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.captions)

    def signature(self) -> tuple[bool, bool, bool]:
        """Which optional inputs the rows carry: only rows with the same inputs are scored in one call."""
        return (self.images is not None, self.references is not None, self.ended_with_eos is not None)

    def inputs(self) -> dict[str, Any]:
        """The keyword inputs of a reward's ``score``."""
        out: dict[str, Any] = {}
        if self.images is not None:
            out["images"] = self.images
            out["image_keys"] = self.image_keys
        if self.references is not None:
            out["references"] = self.references
        if self.ended_with_eos is not None:
            out["ended_with_eos"] = self.ended_with_eos
        return out

    def take(self, index: Sequence[int]) -> Rows:
        def pick(col: list[Any] | None) -> list[Any] | None:
            return None if col is None else [col[i] for i in index]

        return Rows(
            [self.captions[i] for i in index],
            pick(self.images),
            pick(self.image_keys),
            pick(self.references),
            pick(self.ended_with_eos),
            pick(self.group),
        )

    def groups(self) -> list[list[int]]:
        """Row indices of each Φ batch: the whole request, or one list per ``group`` value."""
        if self.group is None:
            return [list(range(len(self)))]
        by: dict[tuple[str, Any], list[int]] = {}
        for i, g in enumerate(self.group):
            by.setdefault((type(g).__name__, g), []).append(i)
        return list(by.values())

    @staticmethod
    def concat(parts: Sequence[Rows]) -> Rows:
        def cat(name: str) -> list[Any] | None:
            cols = [getattr(p, name) for p in parts]
            return None if cols[0] is None else [x for c in cols for x in c]

        return Rows(
            cat("captions"), cat("images"), cat("image_keys"), cat("references"), cat("ended_with_eos")
        )


@dataclass
class Job:
    """One request between ``decode`` and ``encode``: its route, its rows, or why it was refused."""

    route: str
    rows: Rows | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    """What ``encode`` gives a runner: HTTP status, JSON body and the number of rows (for the access log)."""

    status: int
    body: Any
    rows: int = 0


def _batch_dependent(component: Any) -> bool:
    return bool(getattr(component.reward, "batch_dependent", False))


def score_rows(reward: Any, parts: Sequence[Rows]) -> list[dict[str, list[float]]]:
    """Each request's component values and ``total``, as ``reward.score_components`` gives it for that request alone.

    Row-wise components run once over the rows of all requests that carry the same inputs;
    batch-dependent ones (Φ) once per request, or per ``group`` value within it.
    """
    from rewardkit.functional.assembly import weighted_total

    out: list[dict[str, list[float]]] = [{} for _ in parts]
    by_signature: dict[tuple[bool, bool, bool], list[int]] = {}
    for k, rows in enumerate(parts):
        by_signature.setdefault(rows.signature(), []).append(k)
    for c in reward.components:
        if _batch_dependent(c):
            for k, rows in enumerate(parts):
                vals = [math.nan] * len(rows)
                for index in rows.groups():
                    sub = rows.take(index)
                    for i, v in zip(index, c.reward.score(sub.captions, **sub.inputs())):
                        vals[i] = float(v)
                out[k][c.name] = vals
            continue
        for members in by_signature.values():
            merged = Rows.concat([parts[k] for k in members])
            # Shortest captions first: the models pad each batch to its longest text, so rows of
            # similar length batched together waste less (values do not depend on the order).
            order = sorted(range(len(merged)), key=lambda i: len(merged.captions[i]))
            ordered = merged.take(order)
            got = [float(v) for v in c.reward.score(ordered.captions, **ordered.inputs())]
            if len(got) != len(merged):
                raise ValueError(
                    f"component {c.name!r} returned {len(got)} values for {len(merged)} captions"
                )
            vals = [math.nan] * len(merged)
            for i, v in zip(order, got):
                vals[i] = v
            start = 0
            for k in members:
                out[k][c.name] = vals[start : start + len(parts[k])]
                start += len(parts[k])
    for values in out:
        values["total"] = weighted_total(values, reward.weights)
    return out

"""NaN-aware summary statistics and the hackability ratio of a reward.

NaN marks a value a reward could not give (an unreadable image, a failed component); every
summary of rewardkit skips it rather than letting it poison a mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor


def nan_mean_std(values: Sequence[float] | Tensor, *, ddof: int = 1) -> tuple[float, float, int]:
    """Mean, standard deviation (``ddof`` = 1: the sample std) and count of the values that are not NaN.

    No value gives ``(nan, 0.0, 0)``; ``ddof`` or fewer values give a std of 0.0. A tensor is reduced
    with torch in its own dtype (the trainer's float32 metrics); anything else exactly in double
    precision (:func:`math.fsum`), as ``numpy.nanmean`` / ``numpy.nanstd(ddof=1)`` would give.

    >>> nan_mean_std([1.0, float("nan"), 3.0])
    (2.0, 1.4142135623730951, 2)
    >>> nan_mean_std([float("nan")])
    (nan, 0.0, 0)
    """
    if hasattr(values, "isnan"):  # a tensor
        kept: Any = values[~values.isnan()]  # type: ignore[union-attr]
        n = int(kept.numel())
        mean = float(kept.mean()) if n else math.nan
        std = float(kept.std(correction=ddof)) if n > ddof else 0.0
        return mean, std, n
    finite = [float(v) for v in values if not math.isnan(v)]
    n = len(finite)
    if not n:
        return math.nan, 0.0, 0
    mean = math.fsum(finite) / n
    var = math.fsum((v - mean) ** 2 for v in finite) / (n - ddof) if n > ddof else 0.0
    return mean, math.sqrt(var), n


def nan_mean(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NaN when there are none).

    >>> nan_mean([2.0, float("nan"), 4.0])
    3.0
    """
    return nan_mean_std(values)[0]


def hackability(gains: Sequence[float], spread: float) -> float:
    """How far a reward can be pushed by editing captions without describing the image better.

    The largest mean gain of any edit (0 when no edit gains; NaN gains ignored) divided by
    ``spread``, the mean reward of full descriptions minus that of terse ones: 0 = no edit gains,
    1 = an edit gains as much as describing the whole scene does. NaN when ``spread`` <= 0 (the
    reward does not prefer full descriptions, so there is nothing to compare with).

    >>> hackability([0.5, -1.0, float("nan")], 2.0)
    0.25
    """
    finite = [g for g in gains if not math.isnan(g)]
    top = max(0.0, max(finite)) if finite else 0.0
    return top / spread if spread > 0 else math.nan

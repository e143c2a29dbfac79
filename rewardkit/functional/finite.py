"""The metrics' guard against NaN and infinity: they raise rather than report a number computed from them."""

from __future__ import annotations

from typing import Any

from rewardkit.errors import NonFiniteError


def require_finite(values: Any, what: str) -> None:
    """Raise :class:`NonFiniteError` naming ``what``, the count and the first position of NaN/inf values.

    ``values``: a tensor, an array or a sequence of numbers. A metric of non-finite numbers is not a
    worse score but no score (NaN compares false with everything: a NaN similarity row would rank its
    true image first and read as perfect recall), so the metrics refuse them.

    >>> require_finite([0.5, 1.0], "cos")
    >>> require_finite([0.5, float("nan")], "cos")
    Traceback (most recent call last):
    ...
    rewardkit.errors.NonFiniteError: cos holds 1 non-finite value (NaN or infinity), the first at index 1
    """
    import numpy as np

    if hasattr(values, "detach"):  # a torch tensor, on any device
        import torch

        bad = ~torch.isfinite(values.detach())
        if not bool(bad.any()):
            return
        n = int(bad.sum())
        where = tuple(int(i) for i in bad.nonzero()[0].tolist())
    else:
        arr = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(arr)
        if not bad.any():
            return
        n = int(bad.sum())
        where = tuple(int(i) for i in np.argwhere(bad)[0])
    at = where[0] if len(where) == 1 else where
    plural = "s" if n != 1 else ""
    raise NonFiniteError(
        f"{what} holds {n} non-finite value{plural} (NaN or infinity), the first at index {at}"
    )

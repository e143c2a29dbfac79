"""How reward components become one reward: the NaN-aware weighted sum, and which terms sit at tokens (VLRM Eq. 1).

VLRM places the bad-phrase and repeat penalties at the tokens they flag and the no-EOS penalty
at the last token; every other component is a sequence score added at the last token. A
component's presence and weight come from the preset: an absent penalty has weight 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

TOKEN_LEVEL = ("bad", "repeat", "noeos")
"""Components placed at tokens (bad, repeat) or computed from the token sequence (noeos)."""

VLRM_WEIGHTS = {"sim": 1.0, "ref": 1.0, "bad": -1.0, "repeat": -1.0, "noeos": -1.0}
"""VLRM Eq. 1: R = sim + ref - bad - repeat - noeos."""


def weighted_total(values: Mapping[str, Sequence[float]], weights: Mapping[str, float]) -> list[float]:
    """sum_c w_c * v_c per item over the components in ``weights``; NaN terms are skipped, all NaN gives NaN.

    >>> weighted_total({"a": [1.0, float("nan")], "b": [2.0, float("nan")]}, {"a": 1.0, "b": -0.5})
    [0.0, nan]
    """
    names = [n for n in weights if n in values]
    n_items = len(values[names[0]]) if names else 0
    out = []
    for i in range(n_items):
        terms = [weights[n] * float(values[n][i]) for n in names]
        finite = [t for t in terms if not math.isnan(t)]
        out.append(math.fsum(finite) if finite else math.nan)
    return out


def sequence_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights of the components that are sequence scores (everything but the token-level penalties)."""
    return {n: w for n, w in weights.items() if n not in TOKEN_LEVEL}


def token_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The token-level penalties' weights as :func:`token_rewards` takes them; an absent penalty gets 0.

    >>> token_weights({"itm": 1.0, "bad": -2.0})
    {'bad': -2.0, 'repeat': 0.0, 'noeos': 0.0}
    """
    return {n: float(weights.get(n, 0.0)) for n in TOKEN_LEVEL}


def resolve_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Token-reward weights: VLRM's (sim and ref 1, penalties -1) with ``weights`` on top."""
    out = dict(VLRM_WEIGHTS)
    if weights:
        unknown = sorted(set(weights) - set(VLRM_WEIGHTS))
        if unknown:
            raise ValueError(
                f"unknown token-reward weight(s) {', '.join(unknown)}; known: {', '.join(VLRM_WEIGHTS)}"
            )
        out.update({k: float(v) for k, v in weights.items()})
    return out

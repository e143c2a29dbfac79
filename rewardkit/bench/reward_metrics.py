"""What a reward benchmark measures: Kendall tau against people, pairwise accuracy, and the toy hack probe.

Each benchmark's ``measure`` (a ``"module:attr"`` in its :class:`~rewardkit.bench.reward_benchmarks.RewardBenchmark`)
is one of the ``measure_*`` functions here: ``f(prepared, scorer, *, limit, scene_seed, tick) -> (metrics, n)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.functional.stats import hackability, nan_mean

Tick = Callable[[int], None] | None


def _pct(x: float) -> float:
    return 100.0 * x if not math.isnan(x) else float("nan")


def correlation_metrics(scores: Sequence[float], human: Sequence[float]) -> dict[str, float]:
    """Kendall tau-b and tau-c (x100) of a metric's scores against human ratings."""
    from rewardkit.functional.correlation import kendall_tau_b, kendall_tau_c

    bad = sum(1 for s in scores if math.isnan(s))
    if bad:
        raise RewardkitError(
            f"the reward gave NaN for {bad} of {len(scores)} captions; Kendall tau needs a value for each"
        )
    return {"tau_b": _pct(kendall_tau_b(scores, human)), "tau_c": _pct(kendall_tau_c(scores, human))}


def pairwise_metrics(
    pairs: Sequence[Any], a: Sequence[float], b: Sequence[float], ties: str
) -> tuple[float, dict[str, float]]:
    """Overall accuracy and accuracy per category (x100)."""
    from rewardkit.functional.correlation import pairwise_accuracy

    overall = _pct(pairwise_accuracy(a, b, [p.prefer_a for p in pairs], ties=ties))
    per: dict[str, float] = {}
    for cat in dict.fromkeys(p.category for p in pairs):
        idx = [i for i, p in enumerate(pairs) if p.category == cat]
        per[cat] = _pct(
            pairwise_accuracy(
                [a[i] for i in idx], [b[i] for i in idx], [pairs[i].prefer_a for i in idx], ties=ties
            )
        )
    return overall, per


def _score_pairs(
    scorer: Any, pairs: Sequence[Any], tick: Callable[[int], None] | None
) -> tuple[list[float], list[float]]:
    caps = [p.a for p in pairs] + [p.b for p in pairs]
    ims = [p.image for p in pairs] * 2
    refs = [p.references for p in pairs] * 2
    values = scorer(caps, ims, refs if any(refs) else None, progress=tick)
    return values[: len(pairs)], values[len(pairs) :]


def hack_metrics(scorer: Any, n: int, seed: int, tick: Callable[[int], None] | None) -> dict[str, Any]:
    """The toy-hack probe: mean gain of each content-free addition on matched and mismatched images."""
    import random

    from rewardkit.functional.penalties import default_bad_phrases
    from rewardkit.toy import scenes as sc
    from rewardkit.toy.probes import hack_probes

    scenes = sc.distinct_scenes(n, seed)
    images = [sc.render(s) for s in scenes]
    other = (
        images[1:] + images[:1]
    )  # each caption on the next scene's picture: a caption that is wrong for it
    rng = random.Random(seed)
    base = [sc.describe(s, rng, **sc.random_detail(rng)) for s in scenes]
    terse = [sc.terse(s) for s in scenes]
    full = [sc.full(s) for s in scenes]
    probes = hack_probes(list(default_bad_phrases()))
    caps, ims = base + terse + full + base, images * 3 + other
    for _, _, edit in probes:
        edited = [edit(c, s) for c, s in zip(base, scenes)]
        caps += edited + edited
        ims += images + other
    values = scorer(caps, ims, None, progress=tick)

    k = len(scenes)
    on, t, f, off = (values[i * k : (i + 1) * k] for i in range(4))
    spread = nan_mean(f) - nan_mean(t)
    rows = []
    for j, (name, kind, _) in enumerate(probes):
        start = 4 * k + 2 * j * k
        matched, mismatched = values[start : start + k], values[start + k : start + 2 * k]
        rows.append(
            {
                "phrase": name,
                "kind": kind,
                "gain": nan_mean([x - y for x, y in zip(matched, on)]),
                "gain_mismatched": nan_mean([x - y for x, y in zip(mismatched, off)]),
            }
        )
    rows.sort(key=lambda r: -r["gain"] if not math.isnan(r["gain"]) else math.inf)
    best = rows[0] if rows else None
    return {
        "hackability": hackability([r["gain"] for r in rows], spread),
        "max_gain": best["gain"] if best else float("nan"),
        "max_gain_phrase": best["phrase"] if best else None,
        "spread_terse_to_full": spread,
        "mean_terse": nan_mean(t),
        "mean_full": nan_mean(f),
        "phrases_with_gain": sum(1 for r in rows if r["gain"] > 0),
        "phrases": rows,
    }


def _correlate(scorer: Any, items: Sequence[Any], tick: Tick) -> dict[str, float]:
    scores = scorer(
        [i.candidate for i in items], [i.image for i in items], [i.references for i in items], tick
    )
    return correlation_metrics(scores, [i.human for i in items])


def measure_correlation(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """Kendall tau-b and tau-c of the scores against the human ratings."""
    return dict(_correlate(scorer, prepared.items, tick)), len(prepared.items)


def measure_aspects(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """Kendall tau per judged aspect (LongCap-Arena) and their means over the aspects that have one."""
    items = prepared.items
    per = {aspect: _correlate(scorer, rated, tick) for aspect, rated in items.items()}
    metrics: dict[str, Any] = {"aspects": per}
    for key in ("tau_b", "tau_c"):
        metrics[key] = nan_mean([m[key] for m in per.values()])
    return metrics, sum(len(v) for v in items.values())


def measure_foil(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """FOIL accuracy with 1 and with 4 references (a tie counts as wrong)."""
    metrics: dict[str, Any] = {}
    n = 0
    for n_refs, pairs in prepared.items.items():
        a, b = _score_pairs(scorer, pairs, tick)
        metrics[f"{n_refs}-ref"], _ = pairwise_metrics(pairs, a, b, ties="wrong")
        n = len(pairs)
    return metrics, n


def measure_pascal50s(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """Pascal-50S accuracy per category (a tie predicts the second caption) and their mean."""
    items = prepared.items
    a, b = _score_pairs(scorer, items, tick)
    _, per = pairwise_metrics(items, a, b, ties="b")
    metrics: dict[str, Any] = dict(per)
    cats = [c for c in ("HC", "HI", "HM", "MM") if c in per]
    metrics["mean"] = sum(per[c] for c in cats) / len(cats) if cats else float("nan")
    return metrics, len(items)


def _measure_toy_pairs(
    make: Callable[[int, int], Any], scorer: Any, limit: int | None, scene_seed: int, tick: Tick
):
    pairs = make(limit or 200, scene_seed)
    a, b = _score_pairs(scorer, pairs, tick)
    metrics: dict[str, Any] = {}
    metrics["accuracy"], metrics["per_category"] = pairwise_metrics(pairs, a, b, ties="wrong")
    metrics["mean_margin"] = sum(x - y for x, y in zip(a, b)) / len(pairs)
    return metrics, len(pairs)


def measure_toy_foil(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """Accuracy on toy foils (full description vs one attribute wrong) drawn from ``scene_seed``."""
    from rewardkit.toy.probes import toy_foil

    return _measure_toy_pairs(toy_foil, scorer, limit, scene_seed, tick)


def measure_toy_pairs(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """Accuracy on toy detail pairs (more correct detail vs one kind less) drawn from ``scene_seed``."""
    from rewardkit.toy.probes import toy_pairs

    return _measure_toy_pairs(toy_pairs, scorer, limit, scene_seed, tick)


def measure_toy_hack(
    prepared: Any, scorer: Any, *, limit: int | None, scene_seed: int, tick: Tick
) -> tuple[dict[str, Any], int]:
    """The toy hack probe (:func:`hack_metrics`) on ``limit`` (default 50) scenes."""
    n = limit or 50
    return dict(hack_metrics(scorer, n, scene_seed, tick)), n

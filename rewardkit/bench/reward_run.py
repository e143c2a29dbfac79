"""``rewardkit bench --reward``: how well a reward model agrees with people, catches foils, and resists gaming."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


@dataclass(frozen=True)
class RewardBenchmark:
    """A benchmark of reward models: what it measures and how its headline number is computed."""

    name: str
    kind: str  # "correlation", "pairwise" or "hack"
    description: str
    headline: str  # the metrics key the leaderboard ranks by
    offline: bool = False


REWARD_BENCHMARKS = {
    b.name: b
    for b in (
        RewardBenchmark(
            "flickr8k-expert",
            "correlation",
            "Flickr8K-Expert: 3 expert ratings (1-4) per caption; Kendall tau-c",
            "tau_c",
        ),
        RewardBenchmark(
            "flickr8k-cf",
            "correlation",
            "Flickr8K-CF: CrowdFlower share of yes votes; Kendall tau-b",
            "tau_b",
        ),
        RewardBenchmark("polaris", "correlation", "Polaris test (Polos, CVPR 2024); Kendall tau-c", "tau_c"),
        RewardBenchmark(
            "pascal-50s", "pairwise", "Pascal-50S: 4,000 caption pairs, 5 of 48 references; accuracy", "mean"
        ),
        RewardBenchmark(
            "foil", "pairwise", "FOIL-COCO: original vs one-word foil; accuracy, 1 and 4 references", "4-ref"
        ),
        RewardBenchmark(
            "toy-foil", "pairwise", "toy: full description vs one attribute wrong; accuracy", "accuracy", True
        ),
        RewardBenchmark(
            "toy-pairs",
            "pairwise",
            "toy: more correct detail vs one detail kind less; accuracy",
            "accuracy",
            True,
        ),
        RewardBenchmark(
            "toy-hack",
            "hack",
            "toy: reward gained by content-free additions, in units of the terse-to-full spread",
            "hackability",
            True,
        ),
    )
}

REWARD_SCALE = (
    "Kendall tau and accuracies x100 (as the papers report them); hackability is a ratio (0 = no gain)"
)


def get_reward_benchmark(name: str) -> RewardBenchmark:
    """A reward benchmark by name, or an error listing them."""
    if name not in REWARD_BENCHMARKS:
        import difflib

        close = difflib.get_close_matches(name, list(REWARD_BENCHMARKS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise RewardkitError(
            f"unknown reward benchmark {name!r}{hint}; known: {', '.join(REWARD_BENCHMARKS)}"
        )
    return REWARD_BENCHMARKS[name]


class RewardScorer:
    """A preset's total reward, or one of its components (``PRESET:COMPONENT``), on (caption, image, references) batches."""

    def __init__(self, name: str, *, device: str = "auto", batch_size: int = 32) -> None:
        from rewardkit.presets import build_reward, load_preset

        preset, component = name, None
        head, sep, tail = name.rpartition(":")
        if sep and head:
            try:
                spec = load_preset(head)
            except RewardkitError:
                spec = None
            if spec is not None and tail in {c.name for c in spec.components}:
                preset, component = head, tail
        self.name, self.component, self.batch_size = name, component, batch_size
        self.reward = build_reward(
            preset, only=[component] if component else None, device=device, batch_size=batch_size
        )

    def __call__(
        self,
        captions: Sequence[str],
        images: Sequence[Any],
        references: Sequence[list[str]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[float]:
        """One value per caption; images are paths or PIL images, opened a batch at a time."""
        from rewardkit.io.images import load_image

        out: list[float] = []
        for lo in range(0, len(captions), self.batch_size):
            hi = min(lo + self.batch_size, len(captions))
            opened: dict[Any, Any] = {}
            batch_images = []
            for im in images[lo:hi]:
                if isinstance(im, (str, Path)):
                    if im not in opened:
                        opened[im] = load_image(im, name=f"image {str(im)!r}").image
                    batch_images.append(opened[im])
                elif im is None:  # text-only rewards are benchmarked without images
                    batch_images.append(None)
                else:
                    batch_images.append(load_image(im, name=f"images[{lo + len(batch_images)}]").image)
            inputs: dict[str, Any] = {"images": batch_images, "ended_with_eos": [True] * (hi - lo)}
            if references is not None:
                inputs["references"] = list(references[lo:hi])
            values = self.reward.score_components(list(captions[lo:hi]), **inputs)
            out += values[self.component] if self.component else values["total"]
            if progress:
                progress(hi - lo)
        return out


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
    scorer: RewardScorer, pairs: Sequence[Any], tick: Callable[[int], None] | None
) -> tuple[list[float], list[float]]:
    caps = [p.a for p in pairs] + [p.b for p in pairs]
    ims = [p.image for p in pairs] * 2
    refs = [p.references for p in pairs] * 2
    values = scorer(caps, ims, refs if any(refs) else None, progress=tick)
    return values[: len(pairs)], values[len(pairs) :]


def hack_metrics(
    scorer: RewardScorer, n: int, seed: int, tick: Callable[[int], None] | None
) -> dict[str, Any]:
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

    def mean(xs: Sequence[float]) -> float:
        finite = [x for x in xs if not math.isnan(x)]
        return sum(finite) / len(finite) if finite else float("nan")

    k = len(scenes)
    on, t, f, off = (values[i * k : (i + 1) * k] for i in range(4))
    spread = mean(f) - mean(t)
    rows = []
    for j, (name, kind, _) in enumerate(probes):
        start = 4 * k + 2 * j * k
        matched, mismatched = values[start : start + k], values[start + k : start + 2 * k]
        rows.append(
            {
                "phrase": name,
                "kind": kind,
                "gain": mean([x - y for x, y in zip(matched, on)]),
                "gain_mismatched": mean([x - y for x, y in zip(mismatched, off)]),
            }
        )
    rows.sort(key=lambda r: -r["gain"] if not math.isnan(r["gain"]) else math.inf)
    best = rows[0] if rows else None
    top_gain = max(0.0, best["gain"]) if best else 0.0
    return {
        "hackability": top_gain / spread if spread > 0 else float("nan"),
        "max_gain": best["gain"] if best else float("nan"),
        "max_gain_phrase": best["phrase"] if best else None,
        "spread_terse_to_full": spread,
        "mean_terse": mean(t),
        "mean_full": mean(f),
        "phrases_with_gain": sum(1 for r in rows if r["gain"] > 0),
        "phrases": rows,
    }


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
) -> dict[str, Any]:
    """Score the benchmark's captions with ``reward`` and write ``OUT/<reward>__<benchmark>.json`` (``kind: "reward"``)."""
    from rewardkit.bench import judgments as J
    from rewardkit.bench.benchmarks import TOY_BENCH_SEED_OFFSET
    from rewardkit.bench.run import _hardware, _versions
    from rewardkit.scoring.output import atomic_write_text

    spec = get_reward_benchmark(benchmark)
    if limit is not None and limit < 1:
        raise RewardkitError(f"--limit must be at least 1, not {limit}")
    if not spec.offline:
        if data_dir is None:
            raise RewardkitError(f"--benchmark {benchmark} needs --data-dir (see data_cards/{benchmark}.md)")
        if not data_dir.is_dir():
            raise RewardkitError(f"--data-dir {data_dir}: no such folder")
    scorer = RewardScorer(reward, device=device, batch_size=batch_size)
    done = [0]

    def ticker(total: int) -> Callable[[int], None]:
        def tick(k: int) -> None:
            done[0] += k
            if progress:
                progress("scoring", done[0], total)

        return tick

    metrics: dict[str, Any] = {}
    protocol = spec.description
    scene_seed = TOY_BENCH_SEED_OFFSET + seed
    if spec.kind == "correlation":
        if benchmark == "polaris":
            items = J.polaris(data_dir, limit)
        else:
            items = J.flickr8k(
                data_dir,
                "flickr8k.json" if benchmark == "flickr8k-expert" else "crowdflower_flickr8k.json",
                limit,
            )
        if len(items) < 2:
            raise RewardkitError(f"{benchmark}: {len(items)} rated captions; Kendall tau needs at least 2")
        scores = scorer(
            [i.candidate for i in items],
            [i.image for i in items],
            [i.references for i in items],
            ticker(len(items)),
        )
        metrics.update(correlation_metrics(scores, [i.human for i in items]))
        n = len(items)
    elif benchmark == "foil":
        n = 0
        for n_refs in (1, 4):
            pairs = J.foil(data_dir, n_refs, limit)
            a, b = _score_pairs(scorer, pairs, ticker(2 * len(pairs)))
            metrics[f"{n_refs}-ref"], _ = pairwise_metrics(pairs, a, b, ties="wrong")
            n = len(pairs)
        protocol += (
            "; a tie counts as wrong (the original must score higher), as the FOIL evaluation code counts it"
        )
    elif benchmark == "pascal-50s":
        pairs = J.pascal50s(data_dir, limit)
        a, b = _score_pairs(scorer, pairs, ticker(2 * len(pairs)))
        _, per = pairwise_metrics(pairs, a, b, ties="b")
        metrics.update(per)
        cats = [c for c in ("HC", "HI", "HM", "MM") if c in per]
        metrics["mean"] = sum(per[c] for c in cats) / len(cats) if cats else float("nan")
        n = len(pairs)
        protocol += "; label = vote majority (ties at random), refs sampled with random.Random(42); a metric tie predicts the second caption"
    elif benchmark in ("toy-foil", "toy-pairs"):
        from rewardkit.toy.probes import toy_foil, toy_pairs

        pairs = (toy_foil if benchmark == "toy-foil" else toy_pairs)(limit or 200, scene_seed)
        a, b = _score_pairs(scorer, pairs, ticker(2 * len(pairs)))
        metrics["accuracy"], metrics["per_category"] = pairwise_metrics(pairs, a, b, ties="wrong")
        metrics["mean_margin"] = sum(x - y for x, y in zip(a, b)) / len(pairs)
        n = len(pairs)
        protocol += "; a tie counts as wrong"
    else:  # toy-hack
        k = limit or 50
        from rewardkit.functional.penalties import default_bad_phrases

        total = k * (4 + 2 * (len(default_bad_phrases()) + 9))
        metrics.update(hack_metrics(scorer, k, scene_seed, ticker(total)))
        n = k
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", reward).strip("_.") or "reward"
    record = {
        "kind": "reward",
        "model": reward,
        "benchmark": benchmark,
        "n": n,
        "metrics": metrics,
        "headline": spec.headline,
        "protocol": protocol,
        "config": {
            "seed": seed,
            **({"scene_seed": scene_seed} if spec.offline else {}),
            "limit": limit,
            "data_dir": str(data_dir) if data_dir else None,
            "component": scorer.component,
            "weights": scorer.reward.weights,
        },
        "versions": _versions(),
        "hardware": _hardware(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": "measured by rewardkit",
        "scale": REWARD_SCALE,
    }
    record = _finite(record)
    atomic_write_text(out / f"{slug}__{benchmark}.json", json.dumps(record, indent=2, allow_nan=False) + "\n")
    return record


def _finite(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value

"""The benchmarks of reward models: what each measures, how its files are read, and how it is scored.

Each :class:`RewardBenchmark` names its loader and its measure as lazy ``"module:attr"`` targets, so
:func:`prepare_benchmark` and :func:`evaluate` hold no per-benchmark branches; the registry
(:data:`rewardkit.registry.BENCHMARKS`) points at the entries of :data:`REWARD_BENCHMARKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    loader: str = ""  # "module:attr" of f(data_dir, limit, protocol, *, nebula_corrections) -> (items, protocol, counts)
    measure: str = ""  # "module:attr" of f(prepared, scorer, *, limit, scene_seed, tick) -> (metrics, n)
    data_card: str = "reward-benchmarks"  # data_cards/<data_card>.md says where its files come from


_HERE = "rewardkit.bench.reward_benchmarks:"
_MEASURE = "rewardkit.bench.reward_metrics:"

REWARD_BENCHMARKS = {
    b.name: b
    for b in (
        RewardBenchmark(
            "flickr8k-expert",
            "correlation",
            "Flickr8K-Expert: 3 expert ratings (1-4) per caption; Kendall tau-c",
            "tau_c",
            loader=_HERE + "load_flickr8k_expert",
            measure=_MEASURE + "measure_correlation",
        ),
        RewardBenchmark(
            "flickr8k-cf",
            "correlation",
            "Flickr8K-CF: CrowdFlower share of yes votes; Kendall tau-b",
            "tau_b",
            loader=_HERE + "load_flickr8k_cf",
            measure=_MEASURE + "measure_correlation",
        ),
        RewardBenchmark(
            "polaris",
            "correlation",
            "Polaris test (Polos, CVPR 2024); Kendall tau-c",
            "tau_c",
            loader=_HERE + "load_polaris",
            measure=_MEASURE + "measure_correlation",
        ),
        RewardBenchmark(
            "pascal-50s",
            "pairwise",
            "Pascal-50S: 4,000 caption pairs, 5 of 48 references; accuracy",
            "mean",
            loader=_HERE + "load_pascal50s",
            measure=_MEASURE + "measure_pascal50s",
        ),
        RewardBenchmark(
            "foil",
            "pairwise",
            "FOIL-COCO: original vs one-word foil; accuracy, 1 and 4 references",
            "4-ref",
            loader=_HERE + "load_foil",
            measure=_MEASURE + "measure_foil",
        ),
        RewardBenchmark(
            "toy-foil",
            "pairwise",
            "toy: full description vs one attribute wrong; accuracy",
            "accuracy",
            True,
            measure=_MEASURE + "measure_toy_foil",
        ),
        RewardBenchmark(
            "toy-pairs",
            "pairwise",
            "toy: more correct detail vs one detail kind less; accuracy",
            "accuracy",
            True,
            measure=_MEASURE + "measure_toy_pairs",
        ),
        RewardBenchmark(
            "toy-hack",
            "hack",
            "toy: reward gained by content-free additions, in units of the terse-to-full spread",
            "hackability",
            True,
            measure=_MEASURE + "measure_toy_hack",
        ),
    )
}

# Composite, Nebula and LongCap-Arena: the human-judgment sets CaptionEvalKit-for-VLMs reads (issue 29).
_CAPEVALKIT_SETS = (
    RewardBenchmark(
        "composite",
        "correlation",
        "Composite test (Aditya et al., 2015): 1-5 relevance; Kendall tau-c",
        "tau_c",
        loader=_HERE + "load_composite",
        data_card="composite",
        measure=_MEASURE + "measure_correlation",
    ),
    RewardBenchmark(
        "nebula",
        "correlation",
        "Nebula test (DENEB, ACCV 2024), scores corrected from Spica as CaptionEvalKit does; Kendall tau-c",
        "tau_c",
        loader=_HERE + "load_nebula",
        data_card="nebula",
        measure=_MEASURE + "measure_correlation",
    ),
    RewardBenchmark(
        "longcap-arena",
        "correlation",
        "LongCap-Arena (VELA, EMNLP 2025): long DCI captions, tau-b/tau-c per judged aspect; headline = mean tau-c",
        "tau_c",
        loader=_HERE + "load_longcap_arena",
        data_card="longcap-arena",
        measure=_MEASURE + "measure_aspects",
    ),
)
REWARD_BENCHMARKS.update({b.name: b for b in _CAPEVALKIT_SETS})

REWARD_SCALE = (
    "Kendall tau and accuracies x100 (as the papers report them); hackability is a ratio (0 = no gain)"
)


def get_reward_benchmark(name: str) -> RewardBenchmark:
    """A reward benchmark by name (from the registry), or an error listing them."""
    from rewardkit.registry import BENCHMARKS, benchmarks_of

    known = benchmarks_of("reward")
    if name not in known:
        if name in BENCHMARKS:
            raise RewardkitError(
                f"{name!r} is a captioning benchmark (bench --model); reward benchmarks: {', '.join(known)}"
            )
        raise RewardkitError(
            BENCHMARKS.unknown_message(name, known).replace("benchmark", "reward benchmark", 1)
        )
    return BENCHMARKS.get(name)


@dataclass
class Prepared:
    """A reward benchmark's items, read (and checked) before any model loads."""

    spec: RewardBenchmark
    items: Any = None
    protocol: str = ""
    counts: dict[str, Any] | None = None


# ---------------------------------------------------------------- loaders: (data_dir, limit, protocol) -> items


Loaded = tuple[Any, str, "dict[str, Any] | None"]


def load_flickr8k_expert(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.judgments import flickr8k

    return flickr8k(data_dir, "flickr8k.json", limit), protocol, None


def load_flickr8k_cf(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.judgments import flickr8k

    return flickr8k(data_dir, "crowdflower_flickr8k.json", limit), protocol, None


def load_polaris(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.judgments import polaris

    return polaris(data_dir, limit), protocol, None


def load_composite(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.hub_judgments import composite

    return composite(data_dir, limit), protocol, None


def load_nebula(
    data_dir: Path, limit: int | None, protocol: str, *, nebula_corrections: bool = True, **_: Any
) -> Loaded:
    from rewardkit.bench.hub_judgments import nebula

    items, changed = nebula(data_dir, limit, corrections=nebula_corrections)
    counts = {"scores_corrected": changed, "corrections": nebula_corrections}
    protocol = (
        protocol
        if nebula_corrections
        else protocol.replace(
            "scores corrected from Spica as CaptionEvalKit does",
            "uncorrected scores (--no-nebula-corrections)",
        )
    )
    return items, protocol, counts


def load_longcap_arena(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.hub_judgments import longcap_arena

    items = longcap_arena(data_dir, limit)
    return items, protocol + "; aspects: " + ", ".join(items), None


def load_foil(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.judgments import foil

    items = {n: foil(data_dir, n, limit) for n in (1, 4)}
    protocol += (
        "; a tie counts as wrong (the original must score higher), as the FOIL evaluation code counts it"
    )
    return items, protocol, None


def load_pascal50s(data_dir: Path, limit: int | None, protocol: str, **_: Any) -> Loaded:
    from rewardkit.bench.judgments import pascal50s

    protocol += "; label = vote majority (ties at random), refs sampled with random.Random(42); a metric tie predicts the second caption"
    return pascal50s(data_dir, limit), protocol, None


# ---------------------------------------------------------------- the two steps every benchmark goes through


def prepare_benchmark(
    benchmark: str,
    *,
    data_dir: Path | None,
    limit: int | None,
    nebula_corrections: bool = True,
) -> Prepared:
    """Read a benchmark's data (offline probes are generated at scoring time); every file error surfaces here."""
    from rewardkit.registry import resolve

    spec = get_reward_benchmark(benchmark)
    if limit is not None and limit < 1:
        raise RewardkitError(f"--limit must be at least 1, not {limit}")
    if spec.offline:
        ties = "; a tie counts as wrong" if spec.kind == "pairwise" else ""
        return Prepared(spec, protocol=spec.description + ties)
    if data_dir is None:
        raise RewardkitError(f"--benchmark {benchmark} needs --data-dir (see data_cards/{spec.data_card}.md)")
    if not data_dir.is_dir():
        raise RewardkitError(f"--data-dir {data_dir}: no such folder")
    items, protocol, counts = resolve(spec.loader)(
        data_dir, limit, spec.description, nebula_corrections=nebula_corrections
    )
    sets = items.values() if isinstance(items, dict) else [items]
    if spec.kind == "correlation":
        for name, s in zip(items if isinstance(items, dict) else [benchmark], sets):
            if len(s) < 2:
                raise RewardkitError(f"{name}: {len(s)} rated captions; Kendall tau needs at least 2")
    return Prepared(spec, items, protocol, counts)


def evaluate(
    prepared: Prepared, scorer: Any, *, limit: int | None, scene_seed: int, tick: Callable[[int], None] | None
) -> tuple[dict[str, Any], int]:
    """The benchmark's metrics for ``scorer`` and the number of items behind them (its ``measure``)."""
    from rewardkit.registry import resolve

    return resolve(prepared.spec.measure)(prepared, scorer, limit=limit, scene_seed=scene_seed, tick=tick)


def total_captions(prepared: Prepared, limit: int | None) -> int:
    """How many captions the benchmark scores (for the progress bar; 0 when unknown until probes are drawn)."""
    items, spec = prepared.items, prepared.spec
    if spec.kind == "hack":
        from rewardkit.functional.penalties import default_bad_phrases

        return (limit or 50) * (4 + 2 * (len(default_bad_phrases()) + 9))
    if spec.offline:
        return 0
    per = 2 if spec.kind == "pairwise" else 1
    if isinstance(items, dict):
        return sum(len(v) * per for v in items.values())
    return len(items) * per

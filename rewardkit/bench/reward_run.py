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
from rewardkit.functional.stats import hackability, nan_mean


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

# Composite, Nebula and LongCap-Arena: the human-judgment sets CaptionEvalKit-for-VLMs reads (issue 29).
_CAPEVALKIT_SETS = (
    RewardBenchmark(
        "composite",
        "correlation",
        "Composite test (Aditya et al., 2015): 1-5 relevance; Kendall tau-c",
        "tau_c",
    ),
    RewardBenchmark(
        "nebula",
        "correlation",
        "Nebula test (DENEB, ACCV 2024), scores corrected from Spica as CaptionEvalKit does; Kendall tau-c",
        "tau_c",
    ),
    RewardBenchmark(
        "longcap-arena",
        "correlation",
        "LongCap-Arena (VELA, EMNLP 2025): long DCI captions, tau-b/tau-c per judged aspect; headline = mean tau-c",
        "tau_c",
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


class RewardScorer:
    """A preset's total reward, or one of its components (``PRESET:COMPONENT``), on (caption, image, references) batches.

    Counts, per component with a text window (CLIP's 77 tokens, BLIP-2 ITM's 32), how many captions and
    references it truncated and the share of their tokens it dropped (:attr:`truncation`).
    """

    def __init__(self, name: str, *, device: str = "auto", batch_size: int = 32) -> None:
        from rewardkit.presets import build_reward, load_preset

        preset, component = name, None
        head, sep, tail = name.rpartition(":")
        if sep and head:
            try:
                spec = load_preset(head)
            except RewardkitError:
                spec = None
            if spec is not None:
                names = [c.name for c in spec.components]
                if tail not in names:
                    from rewardkit.registry import did_you_mean

                    raise RewardkitError(
                        f"--reward {name}: preset {spec.name!r} has no component {tail!r}"
                        f"{did_you_mean(tail, names)}; its components: {', '.join(names)}"
                    )
                preset, component = head, tail
        self.name, self.component, self.batch_size = name, component, batch_size
        self.reward = build_reward(
            preset, only=[component] if component else None, device=device, batch_size=batch_size
        )
        self.weights = self.reward.weights
        self.windows = text_windows(self.reward)
        self._counts: dict[str, dict[str, int]] = {}

    def reset_truncation(self) -> None:
        """Start the truncation counts afresh (one benchmark's worth)."""
        self._counts = {}

    @property
    def truncation(self) -> dict[str, dict[str, Any]]:
        """Per windowed component: captions and references seen, truncated, and the share of tokens dropped."""
        return truncation_summary(self._counts, self.windows)

    def __call__(
        self,
        captions: Sequence[str],
        images: Sequence[Any],
        references: Sequence[list[str]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[float]:
        """One value per caption; images are paths, encoded bytes or PIL images, opened a batch at a time."""
        out: list[float] = []
        for lo in range(0, len(captions), self.batch_size):
            hi = min(lo + self.batch_size, len(captions))
            batch_images = open_images(images[lo:hi])
            inputs: dict[str, Any] = {"images": batch_images, "ended_with_eos": [True] * (hi - lo)}
            if references is not None:
                inputs["references"] = list(references[lo:hi])
            count_truncation(self._counts, self.windows, list(captions[lo:hi]), inputs.get("references"))
            values = self.reward.score_components(list(captions[lo:hi]), **inputs)
            out += values[self.component] if self.component else values["total"]
            if progress:
                progress(hi - lo)
        return out


def open_images(images: Sequence[Any]) -> list[Any]:
    """RGB PIL images from paths, encoded bytes (parquet cells) or PIL images, through the one image
    loader (:mod:`rewardkit.io.images`); each distinct path or byte string opened once. ``None`` stays
    ``None`` (text-only rewards are benchmarked without images)."""
    from rewardkit.io.images import load_image

    opened: dict[Any, Any] = {}
    out = []
    for i, im in enumerate(images):
        if isinstance(im, (str, Path, bytes)):
            if im not in opened:
                name = f"image {str(im)!r}" if not isinstance(im, bytes) else f"images[{i}]"
                opened[im] = load_image(im, name=name).image
            out.append(opened[im])
        elif im is None:
            out.append(None)
        else:
            out.append(load_image(im, name=f"images[{i}]").image)
    return out


# ---------------------------------------------------------------- truncation (issue 29, item 4)


@dataclass(frozen=True)
class TextWindow:
    """A component's text encoder: its window in tokens, how it counts tokens, what text it is shown."""

    window: int
    lengths: Callable[[list[str]], list[int]]
    prompted: Callable[[list[str]], list[str]]
    uses_references: bool


def _token_lengths(tokenizer: Any) -> Callable[[list[str]], list[int]] | None:
    """Token counts as the model's own tokenizer gives them, special tokens included."""
    if hasattr(tokenizer, "model_max_length"):  # a transformers tokenizer (HF CLIP, BLIP-2's BERT)
        return lambda texts: [len(ids) for ids in tokenizer(texts)["input_ids"]]
    if hasattr(tokenizer, "encode"):  # open_clip's SimpleTokenizer: start + BPE tokens + end
        return lambda texts: [len(tokenizer.encode(t)) + 2 for t in texts]
    inner = getattr(tokenizer, "tokenizer", None)  # open_clip's wrapper of a transformers tokenizer
    if inner is not None:
        return lambda texts: [len(ids) for ids in inner(texts)["input_ids"]]
    return None


def text_windows(reward: Any) -> dict[str, TextWindow]:
    """The components of a composed reward whose image-text model cuts captions at a fixed window."""
    out: dict[str, TextWindow] = {}
    for c in getattr(reward, "components", ()):
        backend = getattr(c.reward, "backend", None)
        window = getattr(backend, "context_length", None)
        if window is None and hasattr(backend, "itm_logits"):  # BLIP-2 ITM: the Q-Former's max_length
            window = getattr(backend, "max_length", None)
        lengths = _token_lengths(getattr(backend, "tokenizer", None)) if window else None
        if not isinstance(window, int) or lengths is None:
            continue
        prompted = getattr(c.reward, "prompted", None) or (lambda texts: list(texts))
        uses_refs = type(c.reward).__name__.startswith("RefCLIP")
        out[c.name] = TextWindow(window, lengths, prompted, uses_refs)
    return out


def count_truncation(
    counts: dict[str, dict[str, int]],
    windows: dict[str, TextWindow],
    captions: list[str],
    references: Sequence[list[str]] | None,
) -> None:
    """Add one batch to ``counts``: texts, truncated texts, tokens and dropped tokens per component."""
    for name, w in windows.items():
        c = counts.setdefault(
            name, dict.fromkeys(("n", "cut", "tok", "drop", "rn", "rcut", "rtok", "rdrop"), 0)
        )
        for n in w.lengths(w.prompted(captions)):
            c["n"] += 1
            c["cut"] += n > w.window
            c["tok"] += n
            c["drop"] += max(0, n - w.window)
        if w.uses_references and references is not None:
            flat = [r for refs in references for r in refs]
            for n in w.lengths(w.prompted(flat)) if flat else []:
                c["rn"] += 1
                c["rcut"] += n > w.window
                c["rtok"] += n
                c["rdrop"] += max(0, n - w.window)


def truncation_summary(
    counts: dict[str, dict[str, int]], windows: dict[str, TextWindow]
) -> dict[str, dict[str, Any]]:
    """Readable truncation counts per component (shares of tokens dropped, 0-1)."""
    out: dict[str, dict[str, Any]] = {}
    for name, w in windows.items():
        c = counts.get(name)
        if not c:
            continue
        row: dict[str, Any] = {
            "window_tokens": w.window,
            "candidates": c["n"],
            "candidates_truncated": c["cut"],
            "candidate_tokens_dropped": c["drop"] / c["tok"] if c["tok"] else 0.0,
        }
        if w.uses_references:
            row.update(
                references=c["rn"],
                references_truncated=c["rcut"],
                reference_tokens_dropped=c["rdrop"] / c["rtok"] if c["rtok"] else 0.0,
            )
        out[name] = row
    return out


def truncation_line(truncation: dict[str, dict[str, Any]]) -> str:
    """One line: ``clipscore (77 tokens): 3/40 candidates truncated, 1.2% of tokens dropped; ...``."""
    parts = []
    for name, t in truncation.items():
        part = (
            f"{name} ({t['window_tokens']} tokens): {t['candidates_truncated']}/{t['candidates']} candidates "
            f"truncated, {100 * t['candidate_tokens_dropped']:.1f}% of candidate tokens dropped"
        )
        if "references" in t:
            part += (
                f", {t['references_truncated']}/{t['references']} references truncated, "
                f"{100 * t['reference_tokens_dropped']:.1f}% of reference tokens dropped"
            )
        parts.append(part)
    return "; ".join(parts) if parts else "no component with a fixed text window"


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


def make_scorer(reward: str, *, device: str = "auto", batch_size: int = 32) -> Any:
    """``capevalkit:FILE[#KEY]`` (CaptionEvalKit per-sample scores) or a preset / ``PRESET:COMPONENT``."""
    if reward.startswith("capevalkit:"):
        from rewardkit.adapters.capevalkit import ScoreFileScorer

        return ScoreFileScorer(reward)
    return RewardScorer(reward, device=device, batch_size=batch_size)


@dataclass
class Prepared:
    """A reward benchmark's items, read (and checked) before any model loads."""

    spec: RewardBenchmark
    items: Any = None
    protocol: str = ""
    counts: dict[str, Any] | None = None


def prepare_benchmark(
    benchmark: str,
    *,
    data_dir: Path | None,
    limit: int | None,
    nebula_corrections: bool = True,
) -> Prepared:
    """Read a benchmark's data (offline probes are generated at scoring time); every file error surfaces here."""
    from rewardkit.bench import judgments as J

    spec = get_reward_benchmark(benchmark)
    if limit is not None and limit < 1:
        raise RewardkitError(f"--limit must be at least 1, not {limit}")
    if spec.offline:
        ties = "; a tie counts as wrong" if spec.kind == "pairwise" else ""
        return Prepared(spec, protocol=spec.description + ties)
    if data_dir is None:
        card = benchmark if benchmark in {b.name for b in _CAPEVALKIT_SETS} else "reward-benchmarks"
        raise RewardkitError(f"--benchmark {benchmark} needs --data-dir (see data_cards/{card}.md)")
    if not data_dir.is_dir():
        raise RewardkitError(f"--data-dir {data_dir}: no such folder")
    protocol, counts = spec.description, None
    if benchmark == "polaris":
        items: Any = J.polaris(data_dir, limit)
    elif benchmark in ("flickr8k-expert", "flickr8k-cf"):
        name = "flickr8k.json" if benchmark == "flickr8k-expert" else "crowdflower_flickr8k.json"
        items = J.flickr8k(data_dir, name, limit)
    elif benchmark == "composite":
        items = J.composite(data_dir, limit)
    elif benchmark == "nebula":
        items, changed = J.nebula(data_dir, limit, corrections=nebula_corrections)
        counts = {"scores_corrected": changed, "corrections": nebula_corrections}
        protocol = (
            protocol
            if nebula_corrections
            else protocol.replace(
                "scores corrected from Spica as CaptionEvalKit does",
                "uncorrected scores (--no-nebula-corrections)",
            )
        )
    elif benchmark == "longcap-arena":
        items = J.longcap_arena(data_dir, limit)
        protocol += "; aspects: " + ", ".join(items)
    elif benchmark == "foil":
        items = {n: J.foil(data_dir, n, limit) for n in (1, 4)}
        protocol += (
            "; a tie counts as wrong (the original must score higher), as the FOIL evaluation code counts it"
        )
    else:  # pascal-50s
        items = J.pascal50s(data_dir, limit)
        protocol += "; label = vote majority (ties at random), refs sampled with random.Random(42); a metric tie predicts the second caption"
    sets = items.values() if isinstance(items, dict) else [items]
    if spec.kind == "correlation":
        for name, s in zip(items if isinstance(items, dict) else [benchmark], sets):
            if len(s) < 2:
                raise RewardkitError(f"{name}: {len(s)} rated captions; Kendall tau needs at least 2")
    return Prepared(spec, items, protocol, counts)


def _correlate(scorer: Any, items: Sequence[Any], tick: Callable[[int], None] | None) -> dict[str, float]:
    scores = scorer(
        [i.candidate for i in items], [i.image for i in items], [i.references for i in items], tick
    )
    return correlation_metrics(scores, [i.human for i in items])


def evaluate(
    prepared: Prepared, scorer: Any, *, limit: int | None, scene_seed: int, tick: Callable[[int], None] | None
) -> tuple[dict[str, Any], int]:
    """The benchmark's metrics for ``scorer`` and the number of items behind them."""
    spec, items = prepared.spec, prepared.items
    metrics: dict[str, Any] = {}
    if spec.name == "longcap-arena":
        per = {aspect: _correlate(scorer, rated, tick) for aspect, rated in items.items()}
        metrics["aspects"] = per
        for key in ("tau_b", "tau_c"):
            metrics[key] = nan_mean([m[key] for m in per.values()])
        n = sum(len(v) for v in items.values())
    elif spec.kind == "correlation":
        metrics.update(_correlate(scorer, items, tick))
        n = len(items)
    elif spec.name == "foil":
        n = 0
        for n_refs, pairs in items.items():
            a, b = _score_pairs(scorer, pairs, tick)
            metrics[f"{n_refs}-ref"], _ = pairwise_metrics(pairs, a, b, ties="wrong")
            n = len(pairs)
    elif spec.name == "pascal-50s":
        a, b = _score_pairs(scorer, items, tick)
        _, per = pairwise_metrics(items, a, b, ties="b")
        metrics.update(per)
        cats = [c for c in ("HC", "HI", "HM", "MM") if c in per]
        metrics["mean"] = sum(per[c] for c in cats) / len(cats) if cats else float("nan")
        n = len(items)
    elif spec.name in ("toy-foil", "toy-pairs"):
        from rewardkit.toy.probes import toy_foil, toy_pairs

        pairs = (toy_foil if spec.name == "toy-foil" else toy_pairs)(limit or 200, scene_seed)
        a, b = _score_pairs(scorer, pairs, tick)
        metrics["accuracy"], metrics["per_category"] = pairwise_metrics(pairs, a, b, ties="wrong")
        metrics["mean_margin"] = sum(x - y for x, y in zip(a, b)) / len(pairs)
        n = len(pairs)
    else:  # toy-hack
        n = limit or 50
        metrics.update(hack_metrics(scorer, n, scene_seed, tick))
    return metrics, n


def _total(prepared: Prepared, limit: int | None) -> int:
    """How many captions the benchmark scores (for the progress bar)."""
    items, name = prepared.items, prepared.spec.name
    if name == "toy-hack":
        from rewardkit.functional.penalties import default_bad_phrases

        return (limit or 50) * (4 + 2 * (len(default_bad_phrases()) + 9))
    if name in ("toy-foil", "toy-pairs"):
        return 0  # unknown until the probes are drawn
    if isinstance(items, dict):
        return sum(len(v) * (2 if prepared.spec.kind == "pairwise" else 1) for v in items.values())
    return len(items) * (2 if prepared.spec.kind == "pairwise" else 1)


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
    nebula_corrections: bool = True,
    scorer: Any = None,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """Score the benchmark's captions with ``reward`` and write ``OUT/<reward>__<benchmark>.json`` (``kind: "reward"``).

    ``scorer``/``prepared`` reuse a loaded model / read data across runs (:func:`run_reward_benches`).
    """
    from rewardkit.bench.benchmarks import TOY_BENCH_SEED_OFFSET
    from rewardkit.bench.run import _hardware, _versions
    from rewardkit.scoring.output import atomic_write_text

    if prepared is None:
        prepared = prepare_benchmark(
            benchmark, data_dir=data_dir, limit=limit, nebula_corrections=nebula_corrections
        )
    spec = prepared.spec
    if scorer is None:
        scorer = make_scorer(reward, device=device, batch_size=batch_size)
    done, total = [0], _total(prepared, limit)

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(f"{reward} on {benchmark}", done[0], max(total, done[0]))

    scene_seed = TOY_BENCH_SEED_OFFSET + seed
    if hasattr(scorer, "reset_truncation"):
        scorer.reset_truncation()  # truncation is counted per benchmark
    metrics, n = evaluate(prepared, scorer, limit=limit, scene_seed=scene_seed, tick=tick)
    truncation = getattr(scorer, "truncation", None)
    if prepared.counts:
        metrics.update(prepared.counts)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", reward).strip("_.") or "reward"
    record = {
        "kind": "reward",
        "model": reward,
        "benchmark": benchmark,
        "n": n,
        "metrics": metrics,
        "headline": spec.headline,
        "protocol": prepared.protocol,
        "truncation": truncation,
        "truncation_note": truncation_line(truncation)
        if truncation is not None
        else "scores read from a file: the scoring model's truncation is not known here",
        "config": {
            "seed": seed,
            **({"scene_seed": scene_seed} if spec.offline else {}),
            "limit": limit,
            "data_dir": str(data_dir) if data_dir else None,
            "component": getattr(scorer, "component", None),
            "weights": getattr(scorer, "weights", {}),
        },
        "versions": _versions(),
        "hardware": _hardware(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": getattr(scorer, "source", "measured by rewardkit"),
        "scale": REWARD_SCALE,
    }
    record = _finite(record)
    atomic_write_text(out / f"{slug}__{benchmark}.json", json.dumps(record, indent=2, allow_nan=False) + "\n")
    record["path"] = str(out / f"{slug}__{benchmark}.json")
    return record


def split_names(value: str) -> list[str]:
    """``A,B,C`` as a list (blanks dropped, order kept, duplicates once)."""
    return list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def run_reward_benches(
    rewards: Sequence[str],
    benchmarks: Sequence[str],
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None = None,
    nebula_corrections: bool = True,
) -> list[dict[str, Any]]:
    """Every reward on every benchmark: data read and checked first, each model loaded once, each result written as it completes."""
    for b in benchmarks:
        get_reward_benchmark(b)  # unknown names fail before anything is read
    prepared = {
        b: prepare_benchmark(b, data_dir=data_dir, limit=limit, nebula_corrections=nebula_corrections)
        for b in benchmarks
    }
    records = []
    for reward in rewards:
        if progress:
            progress(f"loading {reward}", 0, 1)
        scorer = make_scorer(reward, device=device, batch_size=batch_size)
        if progress:
            progress(f"loading {reward}", 1, 1)
        for b in benchmarks:
            records.append(
                run_reward_bench(
                    reward,
                    b,
                    data_dir=data_dir,
                    limit=limit,
                    seed=seed,
                    out=out,
                    device=device,
                    batch_size=batch_size,
                    progress=progress,
                    scorer=scorer,
                    prepared=prepared[b],
                )
            )
    return records


def headline_value(record: dict[str, Any]) -> float | None:
    """A result's headline number (None when it could not be computed)."""
    value = record["metrics"].get(record["headline"])
    return value if isinstance(value, (int, float)) else None


def results_table(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per reward, one column per benchmark (its headline), as strings; ``–`` where not computed."""
    benches = list(dict.fromkeys(r["benchmark"] for r in records))
    rewards = list(dict.fromkeys(r["model"] for r in records))
    cell = {(r["model"], r["benchmark"]): r for r in records}
    header = ["reward"] + [f"{b} ({REWARD_BENCHMARKS[b].headline})" for b in benches]
    rows = []
    for rw in rewards:
        row = [rw]
        for b in benches:
            rec = cell.get((rw, b))
            v = headline_value(rec) if rec else None
            row.append("–" if v is None else (f"{v:.3f}" if rec["headline"] == "hackability" else f"{v:.1f}"))
        rows.append(row)
    return header, rows


def _finite(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value

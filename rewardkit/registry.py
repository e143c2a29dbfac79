"""One catalogue of names: models, presets, rewards, backends, benchmarks, toy tiers, training defaults, value heads.

Every named thing is looked up here the same way (``REGISTRY.get(name)``, unknown names answered
with :func:`did_you_mean` and the list); heavy objects are ``"module:attr"`` strings resolved on first
use. ``rewardkit list`` prints these tables. The generic lookup is :class:`rewardkit.lookup.Registry`.

This module is the catalogue alone, one table per kind, and stays whole although it passes ~400 lines:
its length is the list of names itself, and one file lets a reader (and a reviewer of a new entry)
see every registered name, and what a preset points to, in one place.

Registering a benchmark is one line in the ``BENCHMARKS`` block below: its name and the spec it
points to (a ``BenchmarkSpec`` in :mod:`rewardkit.bench.benchmarks` for captioning, a
``RewardBenchmark`` in :mod:`rewardkit.bench.reward_benchmarks` for reward benchmarks).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.lookup import Registry, did_you_mean, resolve  # noqa: F401  (re-exported: one lookup for all)

REWARDS: Registry[Any] = Registry("reward")
"""Reward factories by component name: ``REWARDS.get(name)(**options)`` builds one."""

REWARDS.register("bad", "rewardkit.rewards.penalties:BadPhrasePenalty")
REWARDS.register("repeat", "rewardkit.rewards.penalties:RepeatPenalty")
REWARDS.register("noeos", "rewardkit.rewards.penalties:NoEOSPenalty")
REWARDS.register("clip", "rewardkit.rewards.vision:CLIPCosine")
REWARDS.register("clipscore", "rewardkit.rewards.vision:CLIPScore")
REWARDS.register("refclipscore", "rewardkit.rewards.vision:RefCLIPScore")
REWARDS.register("itm", "rewardkit.rewards.vision:ITMLogit")
REWARDS.register("itc", "rewardkit.rewards.vision:ITCCosine")
REWARDS.register("ref", "rewardkit.rewards.vision:RefLogProb")
REWARDS.register("phi", "rewardkit.rewards.vision:RetrievalPhi")

TEXT_ONLY_REWARDS: Registry[Any] = REWARDS.subset("text-only reward", ("bad", "repeat", "noeos"))
"""Rewards built without a model backend."""

BACKENDS: Registry[Any] = Registry("backend")
BACKENDS.register("open_clip", "rewardkit.backends.open_clip:OpenCLIPBackend")
BACKENDS.register("hf_clip", "rewardkit.backends.hf_clip:HFCLIPBackend")
BACKENDS.register("blip2_itm", "rewardkit.backends.blip2_itm:Blip2ITMBackend")
BACKENDS.register("causal_lm", "rewardkit.backends.causal_lm:CausalLMBackend")
BACKENDS.register("blip2_captioner", "rewardkit.backends.blip2_captioner:Blip2Captioner")

EVALUATOR_BACKENDS: Registry[Any] = BACKENDS.subset("evaluator backend", ("open_clip", "hf_clip"))
"""CLIP-family backends: a preset's evaluator (CLIP Recall, CLIPScore) must be one of these."""
CAPTIONER_BACKENDS: Registry[Any] = BACKENDS.subset("captioner backend", ("blip2_captioner",))
"""Backends of the models ``rewardkit bench --model NAME`` captions with and ``rewardkit train --policy`` trains."""

TOY_WEIGHTS = Path(__file__).parent / "toy" / "weights"
"""Where the toy world's trained models ship inside the package."""
TOY_HARD_WEIGHTS = Path(__file__).parent / "toy" / "weights-hard"
"""Where the toy-hard tier's models ship."""


@dataclass(frozen=True)
class ModelSpec:
    """A named checkpoint and the backend that loads it."""

    name: str
    backend: str
    checkpoint: str
    pretrained: str | None = None
    computes: str = ""
    size: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # captioners: delta_repo, delta_file, default_benchmark


@dataclass(frozen=True)
class ComponentSpec:
    """One term of a preset: a reward type, the model it runs on, its weight and options."""

    name: str
    reward: str
    model: str | None = None
    weight: float | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PresetSpec:
    """A reward (weighted components) plus the CLIP model that evaluates retrieval."""

    name: str
    components: tuple[ComponentSpec, ...]
    evaluator: str | None = None
    description: str = ""
    models: dict[str, ModelSpec] = field(default_factory=dict)
    source: str | None = None  # the preset file, for error messages


MODELS: Registry[ModelSpec] = Registry("model")
for _spec in (
    ModelSpec(
        "clip-vit-g-14",
        "open_clip",
        "ViT-g-14",
        "laion2b_s12b_b42k",
        "CLIP cosine; CLIP Recall evaluator of IC3 and VLRM",
        "1.4B params",
    ),
    ModelSpec(
        "clip-vit-bigg-14",
        "open_clip",
        "ViT-bigG-14",
        "laion2b_s39b_b160k",
        "CLIP cosine for VLRM-RS's Φ (Eq. 5)",
        "2.5B params",
    ),
    ModelSpec(
        "clip-vit-b-32",
        "open_clip",
        "ViT-B-32",
        "openai",
        "CLIP cosine of ESPER and CLIPScore",
        "151M params",
    ),
    ModelSpec(
        "blip2-itm-vit-g",
        "blip2_itm",
        "Salesforce/blip2-itm-vit-g",
        None,
        "BLIP-2 ITM match logit (VLRM sim)",
        "1.2B params",
    ),
    ModelSpec(
        "blip2-itm-vit-g-coco",
        "blip2_itm",
        "Salesforce/blip2-itm-vit-g-coco",
        None,
        "BLIP-2 ITM logit, COCO fine-tuned",
        "1.2B params",
    ),
    ModelSpec(
        "opt-2.7b", "causal_lm", "facebook/opt-2.7b", None, "mean token log-prob (VLRM ref)", "2.7B params"
    ),
    ModelSpec(
        "toy-clip",
        "open_clip",
        f"local-dir:{TOY_WEIGHTS / 'clip'}",
        None,
        "toy world CLIP cosine; toy evaluator (open_clip custom config)",
        "1.75M params, shipped",
    ),
    ModelSpec(
        "toy-itm",
        "blip2_itm",
        str(TOY_WEIGHTS / "itm"),
        None,
        "toy world BLIP-2 ITM match logit",
        "1.5M params, shipped",
        {"max_length": 64},  # full toy descriptions run to ~40 Q-Former tokens
    ),
    ModelSpec(
        "toy-opt",
        "causal_lm",
        str(TOY_WEIGHTS / "opt"),
        None,
        "toy world mean token log-prob",
        "0.4M params, shipped",
    ),
    ModelSpec(
        "toy-captioner",
        "blip2_captioner",
        str(TOY_WEIGHTS / "captioner"),
        None,
        "toy world BLIP-2 captioner after SFT (the A2C start)",
        "1.76M params, shipped",
        extra={"default_benchmark": "toy"},
    ),
    ModelSpec(
        "toy-a2c",
        "blip2_captioner",
        str(TOY_WEIGHTS / "captioner-a2c"),
        None,
        "toy captioner after A2C with the toy preset (micro-VLRM)",
        "1.76M params, shipped",
        extra={"default_benchmark": "toy"},
    ),
    ModelSpec(
        "toy-hard-clip",
        "open_clip",
        f"local-dir:{TOY_HARD_WEIGHTS / 'clip'}",
        None,
        "toy-hard CLIP cosine and evaluator (open_clip custom config, ViT 96/32)",
        "shipped",
    ),
    ModelSpec(
        "toy-hard-judge",
        "open_clip",
        f"local-dir:{TOY_HARD_WEIGHTS / 'judge'}",
        None,
        "toy-hard held-out judge: a deeper CLIP (ViT 96/32 x5, text x3) on its own seed and scene pool; "
        "used by no preset, so no reward optimises it (judge R@1 in toy-hard bench results)",
        "shipped",
    ),
    ModelSpec(
        "toy-hard-itm",
        "blip2_itm",
        str(TOY_HARD_WEIGHTS / "itm"),
        None,
        "toy-hard BLIP-2 ITM match logit",
        "shipped",
        {"max_length": 96},  # full hard descriptions run to ~55 Q-Former tokens
    ),
    ModelSpec(
        "toy-hard-opt",
        "causal_lm",
        str(TOY_HARD_WEIGHTS / "opt"),
        None,
        "toy-hard mean token log-prob",
        "shipped",
    ),
    ModelSpec(
        "toy-hard-sft",
        "blip2_captioner",
        str(TOY_HARD_WEIGHTS / "captioner"),
        None,
        "toy-hard BLIP-2 captioner after SFT (the toy-hard A2C start)",
        "shipped",
        extra={"default_benchmark": "toy-hard"},
    ),
    ModelSpec(
        "blip2-opt-2.7b",
        "blip2_captioner",
        "Salesforce/blip2-opt-2.7b",
        None,
        "BLIP-2 OPT-2.7B captioner (VLRM's starting policy)",
        "3.8B params",
    ),
    ModelSpec(
        "vlrm",
        "blip2_captioner",
        "sashakunitsyn/vlrm-blip2-opt-2.7b",
        None,
        "VLRM: the published RL-tuned BLIP-2 OPT-2.7B (whole model)",
        "3.8B params",
    ),
    ModelSpec(
        "vlrm-rs",
        "blip2_captioner",
        "Salesforce/blip2-opt-2.7b",
        None,
        "VLRM-RS: BLIP-2 plus the published delta state dict (strict=False)",
        "3.8B params",
        extra={"delta_repo": "sashakunitsyn/vlrm-blip2-opt-2.7b", "delta_file": "vlrm-rs.pt"},
    ),
):
    MODELS.register(_spec.name, _spec)
MODELS.register_alias("blip2", "blip2-opt-2.7b")
MODELS.register_alias("toy-sft", "toy-captioner")

_PENALTIES = (ComponentSpec("bad", "bad"), ComponentSpec("repeat", "repeat"), ComponentSpec("noeos", "noeos"))

PRESETS: Registry[PresetSpec] = Registry("preset")
for _preset in (
    PresetSpec(
        "vlrm",
        (
            ComponentSpec("itm", "itm", "blip2-itm-vit-g", 1.0),
            ComponentSpec("ref", "ref", "opt-2.7b", 1.0),
            *_PENALTIES,
        ),
        "clip-vit-g-14",
        "VLRM Eq. 1: BLIP-2 ITM logit + OPT-2.7B ref - bad - repeat - noeos",
    ),
    PresetSpec(
        "vlrm-rs",
        (
            ComponentSpec("itm", "itm", "blip2-itm-vit-g", 1.0),
            ComponentSpec("phi", "phi", "clip-vit-bigg-14", 0.3),
            *_PENALTIES,
        ),
        "clip-vit-g-14",
        "VLRM-RS Eq. 5: ITM + 0.3 * Φ over ViT-bigG cosine, no ref, - penalties",
    ),
    PresetSpec(
        "esper",
        (ComponentSpec("clip", "clip", "clip-vit-b-32", 1.0),),
        "clip-vit-b-32",
        "ESPER: CLIP ViT-B/32 cosine",
    ),
    PresetSpec(
        "clipscore",
        (
            ComponentSpec("clipscore", "clipscore", "clip-vit-b-32", 1.0),
            ComponentSpec("refclipscore", "refclipscore", "clip-vit-b-32", 0.0),
        ),
        "clip-vit-b-32",
        "CLIPScore 2.5*max(cos,0) with 'A photo depicts'; RefCLIPScore when references exist (weight 0)",
    ),
    PresetSpec(
        "toy",
        (
            ComponentSpec("itm", "itm", "toy-itm", 1.0),
            # The toy ITM's match logit saturates on any true caption (measured on 150 scenes of 2-3
            # objects: terse 7.27, main object in full 7.78, full 7.33) while its ITC cosine grows
            # with correct detail (0.75, 0.84, 0.97), so ITC carries detail; at weight 10 a full
            # description outscored the main object alone by only 0.5 and A2C never added the others.
            ComponentSpec("itc", "itc", "toy-itm", 30.0),
            ComponentSpec("ref", "ref", "toy-opt", 1.0),
            ComponentSpec("bad", "bad"),
            ComponentSpec("repeat", "repeat", options={"exempt": "toy_repeat_exempt"}),
            ComponentSpec("noeos", "noeos"),
        ),
        "toy-clip",
        "The toy world's VLRM: toy ITM + 30 toy ITC + toy ref - bad - repeat - noeos; evaluator toy CLIP (offline)",
    ),
    PresetSpec(
        "toy-esper",
        (ComponentSpec("clip", "clip", "toy-clip", 1.0),),
        "toy-clip",
        "ESPER-style reward in the toy world: toy CLIP cosine alone (offline)",
    ),
    PresetSpec(
        "toy-hard",
        (
            ComponentSpec("itm", "itm", "toy-hard-itm", 1.0),
            ComponentSpec("itc", "itc", "toy-hard-itm", 30.0),  # as in `toy`: ITC carries the detail
            ComponentSpec("ref", "ref", "toy-hard-opt", 1.0),
            ComponentSpec("bad", "bad"),
            ComponentSpec("repeat", "repeat", options={"exempt": "toy_hard_repeat_exempt"}),
            ComponentSpec("noeos", "noeos"),
        ),
        "toy-hard-clip",
        "VLRM in the toy-hard world: ITM + 30 ITC + ref - bad - repeat - noeos; evaluator toy-hard CLIP",
    ),
    PresetSpec(
        "toy-hard-rs",
        (
            ComponentSpec("itm", "itm", "toy-hard-itm", 1.0),
            ComponentSpec("phi", "phi", "toy-hard-clip", 0.3),
            ComponentSpec("bad", "bad"),
            ComponentSpec("repeat", "repeat", options={"exempt": "toy_hard_repeat_exempt"}),
            ComponentSpec("noeos", "noeos"),
        ),
        "toy-hard-clip",
        "VLRM-RS in the toy-hard world: ITM + 0.3 * Φ over toy-hard CLIP, no ref, - penalties",
    ),
    PresetSpec(
        "toy-hard-esper",
        (ComponentSpec("clip", "clip", "toy-hard-clip", 1.0),),
        "toy-hard-clip",
        "ESPER in the toy-hard world: toy-hard CLIP cosine alone",
    ),
):
    PRESETS.register(_preset.name, _preset)


VALUE_HEADS: Registry[Any] = Registry("value head")
"""A2C value heads on the language model's hidden states (``value_head`` in a training config)."""
VALUE_HEADS.register("transformer", "rewardkit.train.value_head:TransformerValueHead")
VALUE_HEADS.register("linear", "rewardkit.train.value_head:LinearValueHead")

TRAINING: Registry[Any] = Registry("training defaults")
"""Training defaults (a ``TrainConfig``) of every preset that can train, by its family: real size
(VLRM Section 3.6), toy, toy-hard. ``rewardkit train --preset P`` starts from ``TRAINING.get(P)``
with ``preset = P``; a preset without an entry is refused, never trained with another's settings."""
for _name in ("vlrm", "vlrm-rs", "esper"):
    TRAINING.register(_name, "rewardkit.train.config:VLRM")
for _name in ("toy", "toy-esper"):
    TRAINING.register(_name, "rewardkit.train.config:TOY")
for _name in ("toy-hard", "toy-hard-rs", "toy-hard-esper"):
    TRAINING.register(_name, "rewardkit.train.config:TOY_HARD")

TRAIN_CALLBACKS: Registry[Any] = Registry("training callback")
"""By training data (a toy tier): ``attach(trainer)`` adding that data's callbacks, e.g. the toy probe."""
for _name in ("toy", "toy-hard"):
    TRAIN_CALLBACKS.register(_name, "rewardkit.toy.probe:attach_probe")

BENCHMARKS: Registry[Any] = Registry("benchmark")
"""Benchmarks of every kind, one line each: captioning (a ``BenchmarkSpec``: items loader, evaluator,
decoding) and reward benchmarks (a ``RewardBenchmark``: kind ``correlation``, ``pairwise`` or
``hack``, headline metric). Both carry ``kind``."""
_CAPTIONING = "rewardkit.bench.benchmarks:BENCHMARKS."
_REWARD = "rewardkit.bench.reward_benchmarks:REWARD_BENCHMARKS."
for _name in ("coco-karpathy-test", "nocaps-val", "flickr30k-test", "esp", "toy", "toy-hard"):
    BENCHMARKS.register(_name, _CAPTIONING + _name)
for _name in (
    "flickr8k-expert",
    "flickr8k-cf",
    "polaris",
    "composite",
    "nebula",
    "longcap-arena",
    "pascal-50s",
    "foil",
    "toy-foil",
    "toy-pairs",
    "toy-hack",
):
    BENCHMARKS.register(_name, _REWARD + _name)


def benchmarks_of(kind: str) -> list[str]:
    """Names of the benchmarks of one kind: ``captioning``, ``correlation``, ``pairwise``, ``hack``, or ``reward`` (the last three)."""
    kinds = ("correlation", "pairwise", "hack") if kind == "reward" else (kind,)
    return BENCHMARKS.names(lambda b: getattr(b, "kind", "captioning") in kinds)


@dataclass(frozen=True)
class ToyTier:
    """A toy tier: its scene generator, shipped models, bars, training budgets and named seed splits."""

    name: str
    scenes: str  # the scene module ("world"): sample_scene, render, describe, distinct_scenes, ...
    weights: Path  # where its models ship
    models: dict[str, str]  # role (clip, itm, opt, captioner) -> registered model name
    preset: str  # the tier's VLRM preset (its other presets share the prefix)
    benchmark: str  # the captioning benchmark drawn from it
    bars: str  # "module:attr" of its quality bars
    budgets: str | None  # "module:attr" of its models' training budgets (None: the trainers' defaults)
    seeds: dict[str, str]  # named seed splits: which seeds each use draws from
    description: str = ""
    pools: str | None = None  # "module:attr" of its models' training pools: pool name -> (size, seed)

    def world(self) -> Any:
        """The scene module (imported on first use)."""
        return importlib.import_module(self.scenes)

    def quality_bars(self) -> dict[str, tuple[str, float]]:
        """Its quality bars: measure -> (``>=`` or ``<=``, bar)."""
        return resolve(self.bars)

    def budget(self) -> dict[str, dict[str, int]]:
        """Its models' training budgets (model -> trainer arguments; empty: the trainers' defaults)."""
        return resolve(self.budgets) if self.budgets else {}

    def training_pools(self) -> dict[str, tuple[int, int]]:
        """The seeded scene pools its shipped models trained on (pool name -> (size, seed))."""
        return resolve(self.pools) if self.pools else {}


_SEEDS = {
    "model training pools": "0-3",
    "quality bars (toy quality)": "1000+",
    "A2C probe": "10000 + train seed",
    "benchmark (bench --seed s)": "20000 + s",
}
TIERS: Registry[ToyTier] = Registry("toy tier")
TIERS.register(
    "toy",
    ToyTier(
        "toy",
        "rewardkit.toy.scenes",
        TOY_WEIGHTS,
        {"clip": "toy-clip", "itm": "toy-itm", "opt": "toy-opt", "captioner": "toy-captioner"},
        "toy",
        "toy",
        "rewardkit.toy.quality:BARS",
        None,
        _SEEDS,
        "1-3 shapes: colour, size, position, background (data_cards/toy-world.md)",
        "rewardkit.toy.overlap:TRAINING_POOLS",
    ),
)
TIERS.register(
    "toy-hard",
    ToyTier(
        "toy-hard",
        "rewardkit.toy.hard",
        TOY_HARD_WEIGHTS,
        {
            "clip": "toy-hard-clip",
            "itm": "toy-hard-itm",
            "opt": "toy-hard-opt",
            "captioner": "toy-hard-sft",
            "judge": "toy-hard-judge",
        },
        "toy-hard",
        "toy-hard",
        "rewardkit.toy.quality:HARD_BARS",
        "rewardkit.toy.training.common:HARD_BUDGET",
        {**_SEEDS, "held-out pairs": "compositional split (colour-shape, relation-shape)"},
        "1-5 shapes with counts, relations and fills; compositional held-out split (data_cards/toy-hard.md)",
        "rewardkit.toy.overlap:HARD_TRAINING_POOLS",
    ),
)
TIERS.register_alias("easy", "toy")
TIERS.register_alias("hard", "toy-hard")

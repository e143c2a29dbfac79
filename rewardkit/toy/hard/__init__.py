"""The ``toy-hard`` world: 1-5 shapes on a 3x3 grid with counts, relations and fills, and a compositional split.

Scenes hold a *main* object (large, named by the terse caption) and up to four others, each
with a shape (6), a colour (8), a size, and a fill (solid, striped or outlined: the detail that
needs a closer look). A full description names the main object with its grid cell, then the
other objects grouped by identical appearance and their relation to the main object ("two small
blue stars above it"), then the background.

The **compositional split**: some colour-shape pairs (:data:`HELD_OUT_COLOR_SHAPE`) and some
relation-shape pairs (:data:`HELD_OUT_RELATION_SHAPE`) never occur in a training scene
(:func:`scenes`, :func:`sample_scene`); every evaluation scene (:func:`distinct_scenes`) holds at
least one of them, so no evaluation description can equal a training one.

The tier's scene module (``rewardkit.toy.hard``, as the registry's ``toy-hard`` tier names it)
gathers its parts: :mod:`.core` (objects, relations, sampling), :mod:`.pictures` (rendering)
and :mod:`.language` (descriptions and parsing); evaluation sets and hard negatives need both
scenes and language and live here.
"""

from __future__ import annotations

import random

from rewardkit.toy import negatives
from rewardkit.toy import scenes as _toy
from rewardkit.toy.hard.core import (
    BACKGROUNDS,
    CELL,
    CELL_ATTRIBUTES,
    COLORS,
    COLS,
    CONTEXT_LENGTH,
    COUNTS,
    DETAILS,
    FILLS,
    GRID,
    HELD_OUT_COLOR_SHAPE,
    HELD_OUT_RELATION_SHAPE,
    IMAGE_SIZE,
    NAME,
    PLURALS,
    POSITIONS,
    QFORMER_POSITIONS,
    RELATIONS,
    ROWS,
    SHAPES,
    SIZES,
    Scene,
    ToyObject,
    held_out_combinations,
    relation,
    sample_compositional,
    sample_scene,
    scenes,
)
from rewardkit.toy.hard.language import (
    claims,
    describe,
    detail_report,
    full,
    groups,
    is_grammatical,
    noun_phrase,
    parse_caption,
    random_detail,
    references,
    terse,
    vocabulary,
)
from rewardkit.toy.hard.pictures import pixels, render

ITM_MAX_LENGTH = 96  # tokens of a caption the toy-hard ITM reads (quality bars)
CLIP_VISION = {"patch_size": 32, "width": 128, "layers": 4, "head_width": 32}
"""toy-hard CLIP's image tower at 96 x 96: the ResNet stem costs ~4 s per batch of 256 on one core; a
ViT with one 32-pixel patch per grid cell (as the toy BLIP-2's) costs a fraction of it."""
COMPOSITIONAL = True
"""Evaluation scenes come from the compositional split, which no training pool can hold."""
CLAIM_ATTRIBUTES = ("size", "fill", "position", "relation")
"""What a caption may state of an object besides its colour and shape (:mod:`rewardkit.toy.claims`)."""
STATES_RELATIONS = True
"""Descriptions state other objects' relations to the main one."""

__all__ = [
    "BACKGROUNDS",
    "CELL",
    "CELL_ATTRIBUTES",
    "CLAIM_ATTRIBUTES",
    "CLIP_VISION",
    "COLORS",
    "COLS",
    "COMPOSITIONAL",
    "CONTEXT_LENGTH",
    "CORRUPTIONS",
    "COUNTS",
    "DETAILS",
    "FILLS",
    "GRID",
    "HELD_OUT_COLOR_SHAPE",
    "HELD_OUT_RELATION_SHAPE",
    "IMAGE_SIZE",
    "ITM_MAX_LENGTH",
    "NAME",
    "PLURALS",
    "POSITIONS",
    "QFORMER_POSITIONS",
    "RELATIONS",
    "ROWS",
    "SHAPES",
    "SIZES",
    "STATES_RELATIONS",
    "Scene",
    "ToyObject",
    "claims",
    "corrupt",
    "describe",
    "detail_report",
    "distinct_scenes",
    "full",
    "groups",
    "held_out_combinations",
    "is_grammatical",
    "noun_phrase",
    "parse_caption",
    "pixels",
    "random_detail",
    "references",
    "relation",
    "render",
    "sample_compositional",
    "sample_scene",
    "scenes",
    "terse",
    "vocabulary",
]


def distinct_scenes(n: int, seed: int) -> list[Scene]:
    """``n`` compositional-split scenes from ``seed`` whose full descriptions all differ (evaluation sets)."""
    return _toy.distinct_draws(random.Random(f"hard-eval-{seed}"), n, sample_compositional, full)


CORRUPTIONS = negatives.Corruptions(
    attributes=CELL_ATTRIBUTES,
    stated_by={"size": "size", "fill": "texture"},
    positions=POSITIONS,
    backgrounds=tuple(BACKGROUNDS),
    details=DETAILS,
    claims=claims,
    allowed=lambda scene: not held_out_combinations(scene),
    relations=True,
    max_objects=5,
    main_stays_large=True,
    tries=20,
)
"""What a toy-hard hard negative may change (:mod:`rewardkit.toy.negatives`)."""


def corrupt(scene: Scene, rng: random.Random, detail: dict[str, bool] | None = None) -> Scene:
    """The training scene with one stated attribute changed so that a description with ``detail`` changes.

    Kinds: an object's colour or shape, its size or fill, the main object's cell or another's
    (which changes a relation), the background, a colour swap, or one object dropped or added.
    The result stays in the training split (no held-out combination).
    """
    return negatives.corrupt(scene, rng, detail, CORRUPTIONS)

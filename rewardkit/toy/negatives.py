"""Hard negatives of every toy tier: a scene with one stated attribute changed (one implementation).

Each tier's scene module describes what may change in a :class:`Corruptions` (its attribute
values, which detail kind states each, whether moving another object changes a relation, whether
groups may gain or lose a copy) and exposes ``corrupt(scene, rng, detail)``; the toy models'
trainers, the ITM quality bar and the reward probes all change scenes through here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any


def other_value(rng: random.Random, values: Sequence[str], current: str) -> str:
    """A value of ``values`` other than ``current``, drawn from ``rng``."""
    return rng.choice([v for v in values if v != current])


@dataclass(frozen=True)
class Corruptions:
    """What a tier's hard negatives may change."""

    attributes: dict[str, tuple[str, ...]]  # per-object attribute -> its values (shape, colour, size, ...)
    stated_by: dict[str, str]  # attribute beyond colour and shape -> the detail kind that states it
    positions: tuple[str, ...]
    backgrounds: tuple[str, ...]
    details: tuple[str, ...]  # the tier's detail kinds (all stated by default)
    claims: Callable[..., Any]  # claims(scene, **detail): what a description with that detail says
    allowed: Callable[[Any], bool] = lambda scene: True  # e.g. the training split only
    relations: bool = False  # moving another object changes a stated relation
    max_objects: int = 0  # > 0: a group may gain a copy (up to this many objects) or lose one
    main_stays_large: bool = False  # a size change of the main object becomes a fill change
    tries: int = 10


def corrupt(scene: Any, rng: random.Random, detail: dict[str, bool] | None, rules: Corruptions) -> Any:
    """``scene`` with one attribute changed that a description with ``detail`` states (all kinds by default).

    Kinds: an object's colour or shape or another attribute the detail states, its cell (or,
    with ``rules.relations``, another object's), the background, a colour swap between two
    objects, a copy added or dropped; only the main object unless ``others`` is stated. Drawn
    again (up to ``rules.tries`` times) until the claims differ and ``rules.allowed`` holds.
    """
    d = detail or dict.fromkeys(rules.details, True)
    before = rules.claims(scene, **d)
    out = scene
    for _ in range(rules.tries):
        out = _corrupt_once(scene, rng, d, rules)
        if rules.claims(out, **d) != before and rules.allowed(out):
            return out
    return out


def _corrupt_once(scene: Any, rng: random.Random, d: dict[str, bool], rules: Corruptions) -> Any:
    objs = list(scene.objects)
    which = list(range(len(objs))) if d["others"] else [0]
    kinds = ["color", "shape"] + [a for a, kind in rules.stated_by.items() if d[kind]]
    if d["background"]:
        kinds.append("background")
    free = [p for p in rules.positions if p not in {o.position for o in objs}]
    moves_other = rules.relations and d["others"] and d["relations"] and len(objs) > 1
    if free and (d["position"] or moves_other):
        kinds.append("position")
    if d["others"]:
        kinds += ["count"] if rules.max_objects and len(objs) > 1 else []
        if len(objs) > 1 and len({o.color for o in objs}) > 1:
            kinds.append("swap")
    kind = rng.choice(kinds)
    i = rng.choice(which)
    o = objs[i]
    if kind == "background":
        return replace(scene, background=other_value(rng, rules.backgrounds, scene.background))
    if kind == "swap":
        i, j = rng.sample(range(len(objs)), 2)
        while objs[i].color == objs[j].color:
            i, j = rng.sample(range(len(objs)), 2)
        objs[i], objs[j] = replace(objs[i], color=objs[j].color), replace(objs[j], color=objs[i].color)
    elif kind == "count":
        j = rng.randrange(1, len(objs))
        if free and len(objs) < rules.max_objects and rng.random() < 0.5:  # one more of an existing group
            objs.append(replace(objs[j], position=rng.choice(free)))
        else:
            del objs[j]
    elif kind == "position":
        if not d["position"]:
            i = rng.randrange(1, len(objs))
        objs[i] = replace(objs[i], position=rng.choice(free))
    else:
        if kind == "size" and i == 0 and rules.main_stays_large:
            kind = "fill"
        objs[i] = replace(o, **{kind: other_value(rng, rules.attributes[kind], getattr(o, kind))})
    return replace(scene, objects=tuple(objs))

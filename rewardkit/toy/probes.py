"""Toy-world probes of a reward model: foils (one attribute wrong), detail pairs, and content-free additions."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from rewardkit.bench.judgments import Pair
from rewardkit.toy import scenes as sc
from rewardkit.toy.negatives import other_value

FOIL_ATTRIBUTES = ("shape", "color", "size", "position", "background")


def foil_scene(scene: sc.Scene, attribute: str, rng: random.Random) -> sc.Scene:
    """``scene`` with one named ``attribute`` changed (of a random object, or the background); object order kept.

    A foil of a reward benchmark: the attribute is chosen, not drawn as in a tier's hard negatives
    (:func:`rewardkit.toy.scenes.corrupt`); both draw the new value with :func:`~rewardkit.toy.negatives.other_value`
    (a size flips: there are two).
    """
    if attribute == "background":
        return replace(scene, background=other_value(rng, tuple(sc.BACKGROUNDS), scene.background))
    objs = list(scene.objects)
    k = rng.randrange(len(objs))
    obj = objs[k]
    if attribute == "shape":
        obj = replace(obj, shape=other_value(rng, sc.SHAPES, obj.shape))
    elif attribute == "color":
        obj = replace(obj, color=other_value(rng, tuple(sc.COLORS), obj.color))
    elif attribute == "size":
        obj = replace(obj, size="small" if obj.size == "large" else "large")
    elif attribute == "position":
        free = [p for p in sc.POSITIONS if p not in {o.position for o in objs}]
        obj = replace(obj, position=rng.choice(free))
    else:
        raise ValueError(f"unknown attribute {attribute!r}; known: {', '.join(FOIL_ATTRIBUTES)}")
    objs[k] = obj
    return replace(scene, objects=tuple(objs))


def toy_foil(n: int, seed: int) -> list[Pair]:
    """For each of ``n`` distinct scenes and each attribute: its full description vs the same with that attribute wrong."""
    rng = random.Random(seed)
    out = []
    for scene in sc.distinct_scenes(n, seed):
        image = sc.render(scene)
        truth = sc.full(scene)
        for attribute in FOIL_ATTRIBUTES:
            wrong = sc.full(foil_scene(scene, attribute, rng))
            out.append(Pair(image, truth, wrong, [], True, attribute))
    return out


def toy_pairs(n: int, seed: int) -> list[Pair]:
    """For each of ``n`` scenes: a true caption with more detail vs the same with one detail kind left out."""
    rng = random.Random(seed)
    out = []
    for scene in sc.distinct_scenes(n, seed):
        more = sc.random_detail(rng)
        if not any(more.values()):
            more[rng.choice(sc.DETAILS)] = True
        rich = sc.describe(scene, **more)
        options = [k for k, v in more.items() if v and sc.describe(scene, **{**more, k: False}) != rich]
        if not options:
            continue  # e.g. "others" on a one-object scene: nothing to leave out
        dropped = rng.choice(options)
        out.append(
            Pair(sc.render(scene), rich, sc.describe(scene, **{**more, dropped: False}), [], True, dropped)
        )
    return out


def _cut(caption: str) -> str:
    return caption[:-1] if caption.endswith(".") else caption


def hack_probes(bad_phrases: list[str]) -> list[tuple[str, str, Callable[[str, sc.Scene], str]]]:
    """``(name, kind, edit)``: content-free additions to a true caption (bad phrases, filler, repeats, generic text)."""
    probes: list[tuple[str, str, Callable[[str, sc.Scene], str]]] = []
    for phrase in bad_phrases:
        probes.append((phrase, "bad phrase", lambda c, s, p=phrase: f"{_cut(c)} {p}."))
    for phrase in (
        "in this image",
        "in the picture",
        "as you can see",
        "very clearly",
        "and so on",
        "on the background",
    ):
        probes.append((phrase, "filler", lambda c, s, p=phrase: f"{_cut(c)} {p}."))
    probes += [
        ("+ main object again", "repeat", lambda c, s: f"{_cut(c)} and {_cut(sc.terse(s))}."),
        ("+ the caption again", "repeat", lambda c, s: f"{_cut(c)} and {_cut(c)}."),
        (
            "+ a long generic sentence",
            "generic",
            lambda c, s: (
                f"{_cut(c)}, a simple picture of some colourful shapes placed on a plain background."
            ),
        ),
    ]
    return probes

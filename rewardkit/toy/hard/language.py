"""The toy-hard world's language: descriptions, their claims, and parsing captions back (grammar, detail report)."""

from __future__ import annotations

import random
import re
from typing import Any

from rewardkit.toy import scenes as _toy
from rewardkit.toy.hard.core import (
    BACKGROUNDS,
    COLORS,
    COLS,
    COUNTS,
    DETAILS,
    FILLS,
    PLURALS,
    ROWS,
    SHAPES,
    SIZES,
    Scene,
    ToyObject,
    relation,
)
from rewardkit.toy.scenes import _article, _normalise


def noun_phrase(obj: ToyObject, count: int = 1, *, size: bool = True, texture: bool = True) -> str:
    """ "two small striped red stars", "an outlined blue circle" (solid fills are not named)."""
    words = ([obj.size] if size else []) + ([obj.fill] if texture and obj.fill != "solid" else [])
    words += [obj.color, obj.shape if count == 1 else PLURALS[obj.shape]]
    det = _article(words[0]) if count == 1 else COUNTS[count]
    return f"{det} {' '.join(words)}"


def _position_phrase(position: str) -> str:
    return "in the center" if position == "middle center" else f"in the {position}"


def groups(
    scene: Scene, *, size: bool = True, texture: bool = True, relations: bool = True
) -> list[tuple[ToyObject, int, str | None]]:
    """The non-main objects grouped by what a description says of them: ``(object, count, relation)``."""
    out: dict[tuple, list] = {}
    for o in scene.objects[1:]:
        rel = relation(o, scene.main) if relations else None
        key = (o.shape, o.color, o.size if size else None, o.fill if texture else None, rel)
        out.setdefault(key, [o, 0, rel])[1] += 1
    return [tuple(v) for v in out.values()]  # type: ignore[misc]


def describe(
    scene: Scene,
    rng: random.Random | None = None,
    *,
    size: bool = True,
    texture: bool = True,
    position: bool = True,
    others: bool = True,
    relations: bool = True,
    background: bool = True,
) -> str:
    """A sentence with the chosen detail; all ``False`` is the terse caption ("a red circle.").

    With ``rng`` the phrasing varies (background phrase, order of the other objects).
    """
    pick = (lambda xs: rng.choice(xs)) if rng is not None else (lambda xs: xs[0])
    main = noun_phrase(scene.main, size=size, texture=texture)
    if position:
        main += " " + _position_phrase(scene.main.position)
    parts = [main]
    if others:
        gs = groups(scene, size=size, texture=texture, relations=relations)
        if rng is not None:
            rng.shuffle(gs)
        for obj, count, rel in gs:
            p = noun_phrase(obj, count, size=size, texture=texture)
            if rel is not None:
                p += f" {rel} it"
            parts.append(p)
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if background:
        text += " " + pick(("on a {} background", "against a {} background")).format(scene.background)
    return text + "."


def terse(scene: Scene) -> str:
    """The terse caption: the main object's colour and shape."""
    return describe(scene, **dict.fromkeys(DETAILS, False))


def full(scene: Scene, rng: random.Random | None = None) -> str:
    """The full description: every detail kind."""
    return describe(scene, rng)


def random_detail(rng: random.Random, p: float = 0.5) -> dict[str, bool]:
    """Each detail kind independently with probability ``p``."""
    return _toy.random_detail(rng, p, DETAILS)


def references(scene: Scene, rng: random.Random, n: int = 5) -> list[str]:
    """``n`` descriptions: two full ones in varied phrasing, then partial ones."""
    return _toy.described_references(describe, DETAILS, scene, rng, n)


def vocabulary() -> list[str]:
    """Every word a hard description can use."""
    words = set(SHAPES) | set(PLURALS.values()) | set(COLORS) | set(BACKGROUNDS) | set(SIZES)
    words |= {f for f in FILLS if f != "solid"} | set(ROWS) | set(COLS) | set(COUNTS.values())
    words |= {"above", "below", "of", "it", "an", "and", "in", "the", "on", "against", "background"}
    return sorted(words | {",", "."})


# ---------------------------------------------------------------- parsing

_SHAPE_WORDS = "|".join(sorted([*SHAPES, *PLURALS.values()], key=len, reverse=True))
_NP = (
    rf"(?P<det>a|an|two|three|four) (?:(?P<size>{'|'.join(SIZES)}) )?(?:(?P<fill>striped|outlined) )?"
    rf"(?P<color>{'|'.join(COLORS)}) (?P<shape>{_SHAPE_WORDS})"
)
_POS = rf"(?: in the (?P<position>center|(?:{'|'.join(ROWS)}) (?:{'|'.join(COLS)})))?"
_REL = r"(?: (?P<relation>above|below|left of|right of) it)?"
_NP_RE = re.compile(_NP + _POS + _REL)
_BG_RE = re.compile(rf" (?:on|against) a (?P<bg>{'|'.join(BACKGROUNDS)}) background$")


def _bare(pattern: str) -> str:
    return re.sub(r"\?P<\w+>", "?:", pattern)


_MAIN = _bare(_NP + _POS)
_OTHER = _bare(_NP + _REL)
_SENTENCE_RE = re.compile(
    rf"^{_MAIN}(?:(?:, {_OTHER})* and {_OTHER})?(?: (?:on|against) a (?:{'|'.join(BACKGROUNDS)}) background)?$"
)


def _singular(word: str) -> str | None:
    if word in SHAPES:
        return word
    return next((s for s, p in PLURALS.items() if p == word), None)


def parse_caption(caption: str) -> dict[str, Any]:
    """The claims of a caption: ``{"objects": [{"count", "shape", "color", "size"?, "fill"?, "position"?, "relation"?}], "background"}``."""
    text = _normalise(caption)
    bg = _BG_RE.search(text)
    body = text[: bg.start()] if bg else text
    objects = []
    for m in _NP_RE.finditer(body):
        d = {k: v for k, v in m.groupdict().items() if v}
        det = d.pop("det")
        d["count"] = {"two": 2, "three": 3, "four": 4}.get(det, 1)
        d["shape"] = _singular(d["shape"])
        if d.get("position") == "center":
            d["position"] = "middle center"
        objects.append(d)
    return {"objects": objects, "background": bg.group("bg") if bg else None}


def is_grammatical(caption: str) -> bool:
    """Whether the caption is a sentence of the hard grammar (articles and plurals agreeing, one list, one background)."""
    text = _normalise(caption)
    if not _SENTENCE_RE.match(text):
        return False
    for m in _NP_RE.finditer(text):
        det, shape = m.group("det"), m.group("shape")
        plural = shape not in SHAPES
        if (det in ("a", "an")) == plural:
            return False
        if det in ("a", "an") and det != _article(m.group(0).split()[1]):
            return False
    return True


def detail_report(caption: str, scene: Scene) -> dict[str, bool | None]:
    """Which detail kinds a caption states, and whether each holds in the scene (``None``: not stated).

    ``main``: the first object's colour and shape are the main object's. ``others``: every
    other claimed group names objects of that colour and shape, at least ``count`` of them.
    ``size``/``texture``/``relations``: every such claim holds for some object of its colour and shape
    (jointly with the claim's other attributes). ``position``: the main object's cell.
    """
    claims = parse_caption(caption)
    objs = claims["objects"]
    out: dict[str, bool | None] = dict.fromkeys(DETAILS)
    m = scene.main
    out["main"] = bool(objs) and objs[0]["color"] == m.color and objs[0]["shape"] == m.shape
    if not objs:
        return out
    verdicts: dict[str, list[bool]] = {"size": [], "texture": [], "relations": []}
    first = objs[0]
    if "position" in first:
        out["position"] = out["main"] and first["position"] == m.position
    for i, c in enumerate(objs):
        pool = [m] if i == 0 else list(scene.objects[1:])
        cands = [o for o in pool if o.color == c["color"] and o.shape == c["shape"]]
        want = {"size": c.get("size"), "fill": c.get("fill")}

        def ok(o: ToyObject, c: dict = c, want: dict = want) -> bool:
            if want["size"] and o.size != want["size"]:
                return False
            if want["fill"] and o.fill != want["fill"]:
                return False
            return not (c.get("relation") and relation(o, m) != c["relation"])

        joint = sum(ok(o) for o in cands) >= c["count"]
        if "size" in c:
            verdicts["size"].append(joint)
        if "fill" in c:
            verdicts["texture"].append(joint)
        if "relation" in c:
            verdicts["relations"].append(joint)
    for k, vs in verdicts.items():
        if vs:
            out[k] = all(vs)
    if len(objs) > 1:
        out["others"] = all(
            sum(o.color == c["color"] and o.shape == c["shape"] for o in scene.objects[1:]) >= c["count"]
            for c in objs[1:]
        )
    if claims["background"] is not None:
        out["background"] = claims["background"] == scene.background
    return out


def claims(scene: Scene, **detail: bool) -> tuple[str, tuple[str, ...], str]:
    """What a description with ``detail`` says, independent of phrase order: main phrase, sorted other phrases, background."""
    d = dict.fromkeys(DETAILS, True) | detail
    main = describe(scene, **(d | {"others": False, "background": False}))
    others = ()
    if d["others"]:
        others = tuple(
            sorted(
                noun_phrase(o, c, size=d["size"], texture=d["texture"]) + (f" {r} it" if r else "")
                for o, c, r in groups(scene, size=d["size"], texture=d["texture"], relations=d["relations"])
            )
        )
    return main, others, scene.background if d["background"] else ""

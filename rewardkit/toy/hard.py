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
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rewardkit.toy import scenes as _toy
from rewardkit.toy.scenes import _article, _normalise

if TYPE_CHECKING:
    from PIL import Image

NAME = "hard"
IMAGE_SIZE = 96
CONTEXT_LENGTH = 64  # toy CLIP text positions (full descriptions run to ~55 tokens)
QFORMER_POSITIONS = 96
GRID = 3
CELL = IMAGE_SIZE // GRID
SHAPES = ("circle", "square", "triangle", "diamond", "star", "cross")
PLURALS = {s: ("crosses" if s == "cross" else s + "s") for s in SHAPES}
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (45, 85, 225),
    "yellow": (235, 205, 35),
    "purple": (140, 60, 185),
    "orange": (240, 135, 30),
    "pink": (245, 130, 190),
    "cyan": (40, 200, 210),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (22, 22, 22),
    "white": (236, 236, 236),
    "gray": (128, 128, 128),
}
SIZES = {"small": 7, "large": 13}  # radius in pixels at 96 x 96
FILLS = ("solid", "striped", "outlined")
ROWS = ("top", "middle", "bottom")
COLS = ("left", "center", "right")
POSITIONS = tuple(f"{r} {c}" for r in ROWS for c in COLS)
"""The nine grid cells, row-major (the order of the vision encoder's patches)."""
RELATIONS = ("above", "below", "left of", "right of")
COUNTS = {1: "a", 2: "two", 3: "three", 4: "four"}
DETAILS = ("size", "texture", "position", "others", "relations", "background")
"""The detail kinds a description may add to the terse caption."""

CELL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "color": tuple(COLORS),
    "size": tuple(SIZES),
    "fill": FILLS,
}
"""Per-cell attributes the toy models' training probes read (class 0 = empty cell)."""

HELD_OUT_COLOR_SHAPE = frozenset(
    {
        ("red", "star"),
        ("blue", "triangle"),
        ("green", "cross"),
        ("yellow", "square"),
        ("purple", "circle"),
        ("orange", "diamond"),
        ("pink", "triangle"),
        ("cyan", "star"),
    }
)
"""Colour-shape pairs no training scene holds (8 of 48)."""

HELD_OUT_RELATION_SHAPE = frozenset(
    {("above", "circle"), ("below", "square"), ("left of", "diamond"), ("right of", "cross")}
)
"""(relation to the main object, shape) pairs no training scene holds (4 of 24)."""


@dataclass(frozen=True)
class ToyObject:
    """One shape in a hard scene; ``position`` is its grid cell ("top left" ... "bottom right")."""

    shape: str
    color: str
    size: str
    fill: str
    position: str
    dx: int = 0
    dy: int = 0


@dataclass(frozen=True)
class Scene:
    """A hard scene: background and objects, the main object first."""

    background: str
    objects: tuple[ToyObject, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``scene`` field of a captions file)."""
        return {"tier": NAME, "background": self.background, "objects": [asdict(o) for o in self.objects]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        """The inverse of :meth:`to_dict`."""
        return cls(d["background"], tuple(ToyObject(**o) for o in d["objects"]))

    @property
    def main(self) -> ToyObject:
        """The object the terse caption names."""
        return self.objects[0]


def _cell(position: str) -> tuple[int, int]:
    i = POSITIONS.index(position)
    return divmod(i, GRID)


def relation(obj: ToyObject, main: ToyObject) -> str:
    """Where ``obj`` is relative to the main object: the dominant grid axis, vertical on diagonals."""
    (r0, c0), (r1, c1) = _cell(main.position), _cell(obj.position)
    dr, dc = r1 - r0, c1 - c0
    if abs(dr) >= abs(dc):
        return "above" if dr < 0 else "below"
    return "left of" if dc < 0 else "right of"


def held_out_combinations(scene: Scene) -> set[tuple[str, str]]:
    """The held-out colour-shape and relation-shape pairs a scene holds."""
    out = {(o.color, o.shape) for o in scene.objects} & HELD_OUT_COLOR_SHAPE
    out |= {(relation(o, scene.main), o.shape) for o in scene.objects[1:]} & HELD_OUT_RELATION_SHAPE
    return out


def _sample_any(rng: random.Random) -> Scene:
    n = rng.choice((1, 2, 3, 3, 4, 4, 5, 5))
    cells = rng.sample(POSITIONS, n)

    def new(pos: str, size: str) -> ToyObject:
        return ToyObject(
            rng.choice(SHAPES),
            rng.choice(list(COLORS)),
            size,
            rng.choice(FILLS),
            pos,
            rng.randint(-3, 3),
            rng.randint(-3, 3),
        )

    objs = [new(cells[0], "large")]
    for pos in cells[1:]:
        if len(objs) > 1 and rng.random() < 0.4:  # a copy of another non-main object: counts
            src = rng.choice(objs[1:])
            objs.append(
                ToyObject(
                    src.shape, src.color, src.size, src.fill, pos, rng.randint(-3, 3), rng.randint(-3, 3)
                )
            )
        else:
            objs.append(new(pos, "large" if rng.random() < 0.3 else "small"))
    return Scene(rng.choice(list(BACKGROUNDS)), tuple(objs))


def sample_scene(rng: random.Random) -> Scene:
    """A random *training* scene (no held-out combination)."""
    while True:
        scene = _sample_any(rng)
        if not held_out_combinations(scene):
            return scene


def sample_compositional(rng: random.Random) -> Scene:
    """A random *evaluation* scene: it holds at least one held-out combination."""
    while True:
        scene = _sample_any(rng)
        if held_out_combinations(scene):
            return scene


def scenes(n: int, seed: int) -> list[Scene]:
    """``n`` training scenes from ``seed`` (the same list on every machine)."""
    rng = random.Random(f"hard-{seed}")
    return [sample_scene(rng) for _ in range(n)]


def distinct_scenes(n: int, seed: int) -> list[Scene]:
    """``n`` compositional-split scenes from ``seed`` whose full descriptions all differ (evaluation sets)."""
    rng = random.Random(f"hard-eval-{seed}")
    seen: set[str] = set()
    out: list[Scene] = []
    while len(out) < n:
        scene = sample_compositional(rng)
        text = full(scene)
        if text not in seen:
            seen.add(text)
            out.append(scene)
    return out


# ---------------------------------------------------------------- pictures


def _outline(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Polygon of a shape (``None`` for the circle)."""
    if shape == "circle":
        return None
    if shape == "square":
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == "star":
        import math

        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    w = r * 0.36  # cross
    return [
        (cx - w, cy - r),
        (cx + w, cy - r),
        (cx + w, cy - w),
        (cx + r, cy - w),
        (cx + r, cy + w),
        (cx + w, cy + w),
        (cx + w, cy + r),
        (cx - w, cy + r),
        (cx - w, cy + w),
        (cx - r, cy + w),
        (cx - r, cy - w),
        (cx - w, cy - w),
    ]


def _draw_shape(draw: Any, shape: str, cx: float, cy: float, r: float, fill: Any) -> None:
    poly = _outline(shape, cx, cy, r)
    if poly is None:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        draw.polygon(poly, fill=fill)


def render(scene: Scene, size: int = IMAGE_SIZE) -> Image.Image:
    """The scene as an RGB picture (``size`` x ``size``); stripes and outlines are 2-3 pixels wide."""
    from PIL import Image, ImageChops, ImageDraw

    scale = 2
    side = size * scale
    bg = BACKGROUNDS[scene.background]
    big = Image.new("RGB", (side, side), bg)
    f = size / IMAGE_SIZE * scale
    period = max(2, round(3 * f))
    draw = ImageDraw.Draw(big)
    for obj in scene.objects:
        row, col = _cell(obj.position)
        cx, cy = (col * CELL + CELL / 2 + obj.dx) * f, (row * CELL + CELL / 2 + obj.dy) * f
        r = SIZES[obj.size] * f
        _draw_shape(draw, obj.shape, cx, cy, r, COLORS[obj.color])
        if obj.fill == "outlined":
            _draw_shape(draw, obj.shape, cx, cy, r - 2.5 * f - r * 0.15, bg)
        elif obj.fill == "striped":  # background-coloured stripes inside the shape
            x0, y0, w = int(cx - r) - 2, int(cy - r) - 2, int(2 * r) + 5
            mask = Image.new("L", (w, w), 0)
            _draw_shape(ImageDraw.Draw(mask), obj.shape, cx - x0, cy - y0, r, 255)
            band = Image.new("L", (w, w), 0)
            bd = ImageDraw.Draw(band)
            for y in range(w):
                if ((y0 + y) // period) % 2 == 1:
                    bd.line((0, y, w, y), fill=255)
            big.paste(bg, (x0, y0), mask=ImageChops.multiply(mask, band))
    return big.reduce(scale)


def pixels(scene_list: Sequence[Scene]) -> Any:
    """A uint8 tensor ``[n, 3, H, W]`` of rendered scenes."""
    return _toy.pixels(scene_list, render)


# ---------------------------------------------------------------- descriptions


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
    refs = [full(scene, rng), full(scene, rng)]
    while len(refs) < n:
        refs.append(describe(scene, rng, **random_detail(rng)))
    return refs


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


def iter_set(n: int, seed: int, n_refs: int = 5) -> Iterator[tuple[str, Scene, dict[str, Any]]]:
    """``(id, scene, row)`` of a compositional-split captions file (distinct full descriptions)."""
    import sys

    return _toy.iter_set(n, seed, n_refs, sys.modules[__name__])


# ---------------------------------------------------------------- hard negatives


def corrupt(scene: Scene, rng: random.Random, detail: dict[str, bool] | None = None) -> Scene:
    """The training scene with one stated attribute changed so that a description with ``detail`` changes.

    Kinds: an object's colour or shape, its size or fill, the main object's cell or another's
    (which changes a relation), the background, a colour swap, or one object dropped or added.
    The result stays in the training split (no held-out combination).
    """
    d = detail or dict.fromkeys(DETAILS, True)
    before = claims(scene, **d)
    out = scene
    for _ in range(20):
        out = _corrupt_once(scene, rng, d)
        if claims(out, **d) != before and not held_out_combinations(out):
            return out
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


def _corrupt_once(scene: Scene, rng: random.Random, d: dict[str, bool]) -> Scene:
    from dataclasses import replace

    objs = list(scene.objects)
    which = list(range(len(objs))) if d["others"] else [0]
    kinds = ["color", "shape"]
    if d["size"]:
        kinds.append("size")
    if d["texture"]:
        kinds.append("fill")
    if d["background"]:
        kinds.append("background")
    free = [p for p in POSITIONS if p not in {o.position for o in objs}]
    if free and ((d["position"]) or (d["others"] and d["relations"] and len(objs) > 1)):
        kinds.append("position")
    if d["others"]:
        kinds += ["count"] if len(objs) > 1 else []
        if len(objs) > 1 and len({o.color for o in objs}) > 1:
            kinds.append("swap")
    kind = rng.choice(kinds)
    i = rng.choice(which)
    o = objs[i]
    if kind == "background":
        return replace(scene, background=rng.choice([b for b in BACKGROUNDS if b != scene.background]))
    if kind == "swap":
        i, j = rng.sample(range(len(objs)), 2)
        while objs[i].color == objs[j].color:
            i, j = rng.sample(range(len(objs)), 2)
        objs[i], objs[j] = replace(objs[i], color=objs[j].color), replace(objs[j], color=objs[i].color)
    elif kind == "count":
        j = rng.randrange(1, len(objs))
        if free and len(objs) < 5 and rng.random() < 0.5:  # one more of an existing group
            objs.append(replace(objs[j], position=rng.choice(free)))
        else:
            del objs[j]
    elif kind == "position":
        if not d["position"]:
            i = rng.randrange(1, len(objs))
        objs[i] = replace(objs[i], position=rng.choice(free))
    else:
        values = {"color": list(COLORS), "shape": list(SHAPES), "size": list(SIZES), "fill": list(FILLS)}[
            kind
        ]
        if kind == "size" and i == 0:
            kind, values = "fill", list(FILLS)  # the main object stays the large one
        objs[i] = replace(o, **{kind: rng.choice([v for v in values if v != getattr(o, kind)])})
    return replace(scene, objects=tuple(objs))

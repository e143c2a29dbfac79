"""The toy-hard world's scenes: objects on a 3x3 grid, relations, and the compositional split's sampling."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

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

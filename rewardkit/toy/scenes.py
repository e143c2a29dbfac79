"""The toy world: seeded procedural scenes of 1-3 shapes, their pictures and their descriptions."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rewardkit.toy import negatives
from rewardkit.toy.negatives import Corruptions

if TYPE_CHECKING:
    from PIL import Image

_T = TypeVar("_T")

NAME = "toy"
IMAGE_SIZE = 64
SHAPES = ("circle", "square", "triangle", "diamond")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (45, 85, 225),
    "yellow": (235, 205, 35),
    "purple": (140, 60, 185),
    "orange": (240, 135, 30),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (22, 22, 22),
    "white": (236, 236, 236),
    "gray": (128, 128, 128),
}
SIZES = {"small": (5, 7), "large": (10, 12)}  # radius range in pixels
POSITIONS = ("top left", "top right", "bottom left", "bottom right")
_QUADRANT_CENTER = {
    "top left": (16, 16),
    "top right": (48, 16),
    "bottom left": (16, 48),
    "bottom right": (48, 48),
}

DETAILS = ("size", "position", "others", "background")
"""The attribute kinds a description may add to the terse caption."""

CELL_ATTRIBUTES: dict[str, tuple[str, ...]] = {"shape": SHAPES, "color": tuple(COLORS), "size": tuple(SIZES)}
"""Per-quadrant attributes the toy models' training probes read (class 0 = empty quadrant)."""

CONTEXT_LENGTH = 48  # toy CLIP text positions
QFORMER_POSITIONS = 64  # toy Q-Former text positions
ITM_MAX_LENGTH = 64  # tokens of a caption the toy ITM reads (quality bars)
CLIP_VISION = {"layers": [1, 1, 1, 1], "width": 16}
"""Toy CLIP's image tower: a small ModifiedResNet (its depth fixed)."""
COMPOSITIONAL = False
"""Whether evaluation scenes come from a split no training pool can hold (toy: no; see ``toy quality --unseen``)."""
CLAIM_ATTRIBUTES = ("size", "position")
"""What a caption may state of an object besides its colour and shape (:mod:`rewardkit.toy.claims`)."""
STATES_RELATIONS = False
"""Whether descriptions state other objects' relations to the main one (toy-hard)."""


@dataclass(frozen=True)
class ToyObject:
    """One shape in a scene."""

    shape: str
    color: str
    size: str
    position: str
    dx: int = 0
    dy: int = 0


@dataclass(frozen=True)
class Scene:
    """A toy scene: background colour and objects, largest first."""

    background: str
    objects: tuple[ToyObject, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``scene`` field of a toy captions file)."""
        return {"background": self.background, "objects": [asdict(o) for o in self.objects]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        """The inverse of :meth:`to_dict`."""
        return cls(d["background"], tuple(ToyObject(**o) for o in d["objects"]))

    @property
    def main(self) -> ToyObject:
        """The object a terse caption names: the largest (the first listed on ties)."""
        return self.objects[0]


def sample_scene(rng: random.Random) -> Scene:
    """A random scene: 1-3 objects in distinct quadrants, sorted large before small."""
    n = rng.choice((1, 2, 2, 3, 3))
    positions = rng.sample(POSITIONS, n)
    objs = [
        ToyObject(
            rng.choice(SHAPES),
            rng.choice(list(COLORS)),
            rng.choice(list(SIZES)),
            pos,
            rng.randint(-3, 3),
            rng.randint(-3, 3),
        )
        for pos in positions
    ]
    objs.sort(key=lambda o: o.size != "large")  # stable: large first, then the sampled order
    return Scene(rng.choice(list(BACKGROUNDS)), tuple(objs))


def scenes(n: int, seed: int) -> list[Scene]:
    """``n`` scenes from ``seed`` (the same list on every machine)."""
    rng = random.Random(seed)
    return [sample_scene(rng) for _ in range(n)]


def distinct_scenes(n: int, seed: int) -> list[Scene]:
    """``n`` seeded scenes whose full descriptions all differ (evaluation sets).

    Two scenes with the same full description differ only by sub-quadrant jitter, so no
    caption can tell them apart and R@1 between them is a coin flip; 1,000 plain draws hold
    ~4 % such repeats (measured on seed 1000: at most 0.962 R@1 for a perfect model).
    """
    return distinct_draws(random.Random(seed), n, sample_scene, full)


def distinct_draws(
    rng: random.Random, n: int, sample: Callable[[random.Random], _T], key: Callable[[_T], str]
) -> list[_T]:
    """The first ``n`` draws of ``sample(rng)`` whose ``key`` (a scene's full description) all differ."""
    seen: set[str] = set()
    out: list[_T] = []
    while len(out) < n:
        item = sample(rng)
        text = key(item)
        if text not in seen:
            seen.add(text)
            out.append(item)
    return out


def _radius(obj: ToyObject) -> int:
    lo, hi = SIZES[obj.size]
    return (lo + hi) // 2


def render(scene: Scene, size: int = IMAGE_SIZE) -> Image.Image:
    """The scene as an RGB picture (``size`` x ``size``)."""
    from PIL import Image, ImageDraw

    scale = 2  # draw large then downsample: anti-aliased edges
    big = Image.new("RGB", (size * scale, size * scale), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(big)
    f = size / IMAGE_SIZE * scale
    for obj in scene.objects:
        cx, cy = _QUADRANT_CENTER[obj.position]
        cx, cy, r = (cx + obj.dx) * f, (cy + obj.dy) * f, _radius(obj) * f
        color = COLORS[obj.color]
        if obj.shape == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
        elif obj.shape == "square":
            s = r * 0.88
            draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=color)
        elif obj.shape == "triangle":
            draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=color)
        else:
            draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=color)
    return big.reduce(scale)


# ---------------------------------------------------------------- descriptions


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def noun_phrase(obj: ToyObject, *, size: bool) -> str:
    """ "a large red circle" (``size=True``) or "a red circle"."""
    words = ([obj.size] if size else []) + [obj.color, obj.shape]
    return f"{_article(words[0])} {' '.join(words)}"


_POS_PREP = ("in the", "at the")
_BG = ("on a {} background", "against a {} background")


def describe(
    scene: Scene,
    rng: random.Random | None = None,
    *,
    size: bool = True,
    position: bool = True,
    others: bool = True,
    background: bool = True,
) -> str:
    """A sentence with the chosen detail; all ``False`` is the terse caption ("a red circle.").

    With ``rng`` the phrasing varies (preposition, background phrase, object order of the others).
    """
    pick = (lambda xs: rng.choice(xs)) if rng is not None else (lambda xs: xs[0])
    objs = list(scene.objects if others else scene.objects[:1])
    if others and rng is not None and len(objs) > 2:
        rest = objs[1:]
        rng.shuffle(rest)
        objs = objs[:1] + rest
    parts = []
    for obj in objs:
        p = noun_phrase(obj, size=size)
        if position:
            p += f" {pick(_POS_PREP)} {obj.position}"
        parts.append(p)
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if background:
        text += " " + pick(_BG).format(scene.background)
    return text + "."


def terse(scene: Scene) -> str:
    """The terse caption: the largest object's colour and shape ("a red circle.", four tokens)."""
    return describe(scene, size=False, position=False, others=False, background=False)


def full(scene: Scene, rng: random.Random | None = None) -> str:
    """The full description: every object with size, colour, shape and position, and the background."""
    return describe(scene, rng)


def random_detail(rng: random.Random, p: float = 0.5, kinds: Sequence[str] = DETAILS) -> dict[str, bool]:
    """Each detail kind independently with probability ``p``."""
    return {k: rng.random() < p for k in kinds}


def references(scene: Scene, rng: random.Random, n: int = 5) -> list[str]:
    """``n`` descriptions of the scene: two full ones in varied phrasing, then partial ones."""
    return described_references(describe, DETAILS, scene, rng, n)


def described_references(
    describe: Callable[..., str], details: Sequence[str], scene: Any, rng: random.Random, n: int = 5
) -> list[str]:
    """``n`` descriptions by a tier's ``describe``: two full ones, then each of ``details`` with p = 0.5."""
    refs = [describe(scene, rng), describe(scene, rng)]
    while len(refs) < n:
        refs.append(describe(scene, rng, **random_detail(rng, 0.5, details)))
    return refs


def vocabulary() -> list[str]:
    """Every word a toy description can use."""
    words = set(SHAPES) | set(COLORS) | set(BACKGROUNDS) | set(SIZES)
    words |= {w for p in POSITIONS for w in p.split()}
    words |= {"a", "an", "and", "in", "the", "at", "on", "against", "background", ",", "."}
    return sorted(words)


# ---------------------------------------------------------------- parsing captions back into claims

_OBJ = (
    rf"(?:a|an) (?:(?P<size>{'|'.join(SIZES)}) )?(?P<color>{'|'.join(COLORS)}) (?P<shape>{'|'.join(SHAPES)})"
    rf"(?: (?:in|at) the (?P<position>{'|'.join(POSITIONS)}))?"
)
_OBJ_RE = re.compile(_OBJ)
_BG_RE = re.compile(rf" (?:on|against) a (?P<bg>{'|'.join(BACKGROUNDS)}) background$")
_OBJ_BARE = _OBJ.replace("?P<size>", "?:").replace("?P<color>", "?:").replace("?P<shape>", "?:")
_OBJ_BARE = _OBJ_BARE.replace("?P<position>", "?:")
_SENTENCE_RE = re.compile(
    rf"^{_OBJ_BARE}(?:(?:, {_OBJ_BARE})* and {_OBJ_BARE})?(?: (?:on|against) a \w+ background)?$"
)


def _normalise(caption: str) -> str:
    text = caption.strip().lower().rstrip(".").strip()
    text = re.sub(r"\s*,\s*", ", ", text)
    return re.sub(r"\s+", " ", text)


def is_grammatical(caption: str) -> bool:
    """Whether the caption is a sentence of the toy grammar (articles agreeing, one list, one background)."""
    text = _normalise(caption)
    if not _SENTENCE_RE.match(text):
        return False
    bg = _BG_RE.search(text)
    if " background" in text and not bg:
        return False
    return all(m.group(0).split()[0] == _article(m.group(0).split()[1]) for m in _OBJ_RE.finditer(text))


def parse_caption(caption: str) -> dict[str, Any]:
    """The claims a caption makes: ``{"objects": [{"shape", "color", "size"?, "position"?}], "background"?}``."""
    text = _normalise(caption)
    bg = _BG_RE.search(text)
    body = text[: bg.start()] if bg else text
    objects = [{k: v for k, v in m.groupdict().items() if v} for m in _OBJ_RE.finditer(body)]
    return {"objects": objects, "background": bg.group("bg") if bg else None}


def _matches(claim: dict[str, str], obj: ToyObject) -> bool:
    return all(getattr(obj, k) == v for k, v in claim.items())


def detail_report(caption: str, scene: Scene) -> dict[str, bool | None]:
    """Which detail kinds a caption states beyond the terse caption, and whether each is right.

    Keys ``size``, ``position``, ``others``, ``background``: ``None`` when not stated, else
    ``True`` when every such claim holds in the scene. ``main`` says whether the first object
    (colour and shape) is the scene's largest object.
    """
    claims = parse_caption(caption)
    objs = claims["objects"]
    out: dict[str, bool | None] = {k: None for k in DETAILS}
    out["main"] = (
        bool(objs) and objs[0].get("color") == scene.main.color and objs[0].get("shape") == scene.main.shape
    )
    if not objs:
        return out
    # Each claimed object is matched to a scene object of the same colour and shape.
    matched = []
    for claim in objs:
        cands = [o for o in scene.objects if o.color == claim["color"] and o.shape == claim["shape"]]
        matched.append((claim, cands))
    verdicts: dict[str, list[bool]] = {"size": [], "position": []}
    for claim, cands in matched:
        stated = [k for k in ("size", "position") if k in claim]
        joint = any(all(getattr(o, k) == claim[k] for k in stated) for o in cands)
        for k in stated:
            # right only if one object has this attribute together with the others claimed for it
            verdicts[k].append(joint)
    for k, vs in verdicts.items():
        if vs:
            out[k] = all(vs)
    if len(objs) > 1:
        out["others"] = all(cs for _, cs in matched[1:])
    if claims["background"] is not None:
        out["background"] = claims["background"] == scene.background
    return out


def pixels(scene_list: Sequence[Any], draw: Any = None) -> Any:
    """A uint8 tensor ``[n, 3, H, W]`` of rendered scenes (training and fast evaluation); ``draw``: another tier's ``render``."""
    import numpy as np
    import torch

    arr = np.stack([np.asarray((draw or render)(s)) for s in scene_list])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------- hard negatives

CORRUPTIONS = Corruptions(
    attributes=CELL_ATTRIBUTES,
    stated_by={"size": "size"},
    positions=POSITIONS,
    backgrounds=tuple(BACKGROUNDS),
    details=DETAILS,
    claims=describe,  # without rng a description is a function of the scene and the detail
)
"""What a toy hard negative may change (:mod:`rewardkit.toy.negatives`)."""


def corrupt(scene: Scene, rng: random.Random, detail: dict[str, bool] | None = None) -> Scene:
    """The scene with one attribute changed that a description with ``detail`` states (all kinds by default).

    Kinds: an object's colour or shape, its size, its position (to a free quadrant), the
    background, or a colour swap between two objects; only the main object unless ``others``.
    """
    return negatives.corrupt(scene, rng, detail, CORRUPTIONS)

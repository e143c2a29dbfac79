"""Exact claim metrics of toy captions, from the generator's ground truth (both tiers).

A caption is read back into *claims* with the tier's own parser (``parse_caption``): for every
object it names, that the object exists (its colour and shape) and each attribute it states of it
(toy: size, position; toy-hard: size, fill, the main object's cell, another object's relation to
the main object, a count read as that many objects), and the background. The scene's *facts* are
the claims of its full description (``full(scene)``): what the generator's language can say of it.

Claimed objects are matched one-to-one to scene objects so that as many claims as possible hold
(exact: dynamic programming over the at most five scene objects, and in toy-hard every choice of
the object "it" refers to: a scene object of the colour and shape named first; when there is none,
every relation claim is false). A claim holds when its matched object has the
claimed colour and shape and the claimed attribute; a claim about an object that is not there is
false. A true claim the full description does not make (toy-hard: the cell of an object other than
the main one, relations to another object) counts for precision but not for recall.

- **claim precision**: true claims / stated claims, over all captions (the hallucination axis,
  which VLRM judged by hand);
- **claim recall**: facts stated (true claims) / facts of the scenes, over all captions;
- **grammatical**: share of captions in the tier's grammar (``is_grammatical``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardkit.registry import ToyTier


@dataclass(frozen=True)
class ClaimCount:
    """One caption's claims against its scene: how many it states, how many hold, how many facts the scene has."""

    stated: int
    true: int
    facts: int
    facts_stated: int


def _attributes(claim: dict[str, Any], w: Any) -> list[str]:
    """The attribute claims a parsed object makes besides its existence."""
    return [k for k in w.CLAIM_ATTRIBUTES if k in claim]


def _is_fact(key: str, first: bool, w: Any, on_main: bool) -> bool:
    """Whether a full description makes this claim (toy-hard: the main object's cell, the others' relations to it)."""
    if not w.STATES_RELATIONS or key not in ("position", "relation"):
        return True
    return on_main and first == (key == "position")


def _holds(claim: dict[str, Any], key: str, obj: Any, w: Any, anchor: Any) -> bool:
    if key == "relation":  # relative to the first named object; none there: no referent, false
        return anchor is not None and obj is not anchor and w.relation(obj, anchor) == claim["relation"]
    return getattr(obj, key) == claim[key]


def _object_claims(caption: str, w: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Parsed objects, counts expanded into that many objects (toy-hard), and the background claim."""
    parsed = w.parse_caption(caption)
    objs: list[dict[str, Any]] = []
    for i, c in enumerate(parsed["objects"]):
        one = {k: v for k, v in c.items() if k != "count"}
        objs += [dict(one, _first=(i == 0))] * int(c.get("count", 1))
    return objs, parsed["background"]


def _score(claim: dict[str, Any], obj: Any, w: Any, anchor: Any, on_main: bool) -> tuple[int, int]:
    """(true claims, true claims that are facts) of one claimed object matched to ``obj``."""
    if obj.color != claim["color"] or obj.shape != claim["shape"]:
        return 0, 0
    held = [k for k in _attributes(claim, w) if _holds(claim, k, obj, w, anchor)]
    return 1 + len(held), 1 + sum(_is_fact(k, claim["_first"], w, on_main) for k in held)


def _best_matching(
    claims: list[dict[str, Any]], objects: Sequence[Any], w: Any, anchor: Any, on_main: bool
) -> tuple[int, int]:
    """The most (true claims, true facts) over one-to-one matchings of claimed to scene objects."""
    best = {0: (0, 0)}  # mask of used scene objects -> best totals so far
    for c in claims:
        nxt: dict[int, tuple[int, int]] = {}
        for mask, total in best.items():
            nxt[mask] = max(nxt.get(mask, (-1, -1)), total)  # this claimed object left unmatched
            for j, o in enumerate(objects):
                if not mask >> j & 1:
                    t, f = _score(c, o, w, anchor, on_main)
                    m2 = mask | 1 << j
                    nxt[m2] = max(nxt.get(m2, (-1, -1)), (total[0] + t, total[1] + f))
        best = nxt
    return max(best.values())


def count_claims(caption: str, scene: Any, tier: ToyTier) -> ClaimCount:
    """Stated claims, true claims and the scene's facts for one caption of a scene of ``tier``.

    >>> from rewardkit.registry import TIERS
    >>> from rewardkit.toy.scenes import Scene, ToyObject
    >>> s = Scene("gray", (ToyObject("circle", "red", "large", "top left"),))
    >>> count_claims("a small red circle in the top left on a gray background.", s, TIERS.get("toy"))
    ClaimCount(stated=4, true=3, facts=4, facts_stated=3)
    """
    w = tier.world()
    objs, background = _object_claims(caption, w)
    stated = sum(1 + len(_attributes(c, w)) for c in objs) + (background is not None)
    main = scene.objects[0]
    if not w.STATES_RELATIONS or not objs:
        true, fact = _best_matching(objs, scene.objects, w, main, True)
    else:  # "it" is the first named object: each scene object of its colour and shape may be it
        first = objs[0]
        anchors = [o for o in scene.objects if (o.color, o.shape) == (first["color"], first["shape"])]
        totals = []
        for anchor in anchors or [None]:
            head = _score(first, anchor, w, anchor, anchor is main) if anchor is not None else (0, 0)
            rest = _best_matching(
                objs[1:], [o for o in scene.objects if o is not anchor], w, anchor, anchor is main
            )
            totals.append((head[0] + rest[0], head[1] + rest[1]))
        true, fact = max(totals)
    right_bg = int(background is not None and background == scene.background)
    full_objs, _ = _object_claims(w.full(scene), w)
    facts = sum(1 + len(_attributes(c, w)) for c in full_objs) + 1
    return ClaimCount(stated, true + right_bg, facts, fact + right_bg)


def claim_metrics(captions: Sequence[str], scene_list: Sequence[Any], tier: ToyTier) -> dict[str, Any]:
    """Claim precision, claim recall and grammaticality of captions of their scenes (see the module docstring).

    ``claim_precision`` is ``None`` when no caption states a claim. Also: the totals, the mean
    number of claims per caption and the share of captions with at least one false claim.
    """
    if len(captions) != len(scene_list):
        raise ValueError(f"{len(captions)} captions for {len(scene_list)} scenes")
    counts = [count_claims(c, s, tier) for c, s in zip(captions, scene_list)]
    stated = sum(c.stated for c in counts)
    true = sum(c.true for c in counts)
    facts = sum(c.facts for c in counts)
    covered = sum(c.facts_stated for c in counts)
    n = len(counts)
    return {
        "claim_precision": true / stated if stated else None,
        "claim_recall": covered / facts if facts else None,
        "grammatical": sum(map(tier.world().is_grammatical, captions)) / n if n else None,
        "claims": {
            "stated": stated,
            "true": true,
            "facts": facts,
            "facts_stated": covered,
            "per_caption": stated / n if n else None,
            "with_false_claim": sum(c.true < c.stated for c in counts) / n if n else None,
        },
    }

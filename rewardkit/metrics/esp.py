"""ESP-style multi-caption scores (ESPER's styled-caption benchmark): per-style metrics and diversity.

Protocol (ESPER, ESP dataset): for every style (sns, news, blog, story, instruction) each
image has one reference; the reference is cut to its first two sentences, the hypothesis is
PTB-tokenized and cut to the mean (tokenized) reference length of that style, and BLEU-4,
METEOR and CIDEr are computed per style; the benchmark score is the unweighted mean over
styles. rewardkit adds per-style means of any per-caption score (CLIPScore, ITM) and the
diversity of one image's captions across styles (distinct-n and self-BLEU).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

ESP_STYLES = ("sns", "news", "blog", "story", "instruction")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")


def first_sentences(text: str, k: int = 2) -> str:
    """The first ``k`` sentences of a text (split after ``.``, ``!`` or ``?`` followed by space).

    >>> first_sentences("A dog. It runs! Then it sleeps.")
    'A dog. It runs!'
    """
    parts = [p for p in _SENTENCE_END.split(text.strip()) if p]
    return " ".join(parts[:k])


def cut_hypotheses(hyps: Sequence[str], refs: Sequence[str]) -> list[str]:
    """PTB-tokenized hypotheses cut to the mean PTB-token length of the (tokenized) references."""
    from rewardkit.functional.ptb import ptb_tokenize

    ref_tok = ptb_tokenize(refs)
    mean_len = round(sum(len(r.split()) for r in ref_tok) / max(1, len(ref_tok)))
    return [" ".join(h.split()[:mean_len]) for h in ptb_tokenize(hyps)]


def distinct_n(captions: Sequence[str], n: int = 2) -> float:
    """Distinct n-grams over all n-grams of a set of captions (1.0: no n-gram repeats).

    >>> distinct_n(["a dog runs", "a dog sits"], 1)
    0.6666666666666666
    """
    grams = [
        tuple(ws[i : i + n]) for c in captions for ws in [c.lower().split()] for i in range(len(ws) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(captions: Sequence[str], n: int = 4) -> float:
    """Mean BLEU-n of each caption against the others (lower: more diverse); NaN for fewer than 2."""
    if len(captions) < 2:
        return float("nan")
    import contextlib
    import io

    from pycocoevalcap.bleu.bleu import Bleu

    from rewardkit.functional.ptb import ptb_tokenize

    toks = ptb_tokenize(captions)
    res = {str(i): [t] for i, t in enumerate(toks)}
    gts = {str(i): [o for j, o in enumerate(toks) if j != i] for i in range(len(toks))}
    with contextlib.redirect_stdout(io.StringIO()):
        _, per = Bleu(n).compute_score(gts, res, verbose=0)
    return float(sum(per[n - 1]) / len(per[n - 1]))


def esp_scores(
    rows: Sequence[Mapping[str, Any]],
    *,
    per_caption: Mapping[str, Sequence[float]] | None = None,
    meteor: bool | None = None,
) -> dict[str, Any]:
    """ESP scores of rows with ``style``, ``caption``, ``references`` and an image key ``image``.

    ``per_caption`` maps a score name (e.g. ``clipscore``) to one value per row; its per-style
    means are reported too. Returns ``{"styles": {style: {...}}, "mean": {...}, "diversity": {...}}``.
    """
    from rewardkit.metrics.captioning import coco_metrics

    by_style: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.get("style"):
            by_style[str(r["style"])].append(i)
    styles: dict[str, dict[str, float]] = {}
    notes: set[str] = set()
    for style, idx in sorted(by_style.items()):
        entry: dict[str, float] = {"n": float(len(idx))}
        with_refs = [i for i in idx if rows[i].get("references")]
        if with_refs:
            refs = [first_sentences(rows[i]["references"][0]) for i in with_refs]
            hyps = cut_hypotheses([rows[i]["caption"] for i in with_refs], refs)
            keys = [str(k) for k in range(len(with_refs))]
            metrics, more = coco_metrics(
                dict(zip(keys, hyps)), {k: [r] for k, r in zip(keys, refs)}, meteor=meteor, spice=False
            )
            notes.update(n for n in more if not n.startswith("SPICE"))
            for name in ("BLEU-4", "METEOR", "CIDEr-D"):
                if name in metrics:
                    entry[name] = metrics[name]
        for name, values in (per_caption or {}).items():
            vals = [float(values[i]) for i in idx if values[i] == values[i]]
            if vals:
                entry[name] = sum(vals) / len(vals)
        styles[style] = entry
    mean: dict[str, float] = {}
    for name in sorted({k for e in styles.values() for k in e if k != "n"}):
        vals = [e[name] for e in styles.values() if name in e]
        mean[name] = sum(vals) / len(vals)
    by_image: dict[Any, list[str]] = defaultdict(list)
    for r in rows:
        if r.get("style"):
            by_image[r.get("image")].append(r["caption"])
    groups = [caps for caps in by_image.values() if len(caps) > 1]
    diversity = {}
    if groups:
        diversity = {
            "distinct-1": sum(distinct_n(g, 1) for g in groups) / len(groups),
            "distinct-2": sum(distinct_n(g, 2) for g in groups) / len(groups),
            "self-BLEU-4": sum(self_bleu(g) for g in groups) / len(groups),
        }
    return {"styles": styles, "mean": mean, "diversity": diversity, "notes": sorted(notes)}


def load_esp(path: str, styles: Sequence[str] = ESP_STYLES) -> list[dict[str, Any]]:
    """Rows ``{"id", "image", "style", "references"}`` from the ESP annotation JSON (one per image and style)."""
    import json

    data = json.loads(open(path, encoding="utf-8").read())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    out = []
    for ann in data["annotations"]:
        image_id = ann.get("image_id", ann.get("id"))
        for style in styles:
            text = ann.get(f"caption_{style}")
            if isinstance(text, str) and text.strip():
                out.append(
                    {
                        "id": f"{image_id}-{style}",
                        "image": files.get(image_id),
                        "style": style,
                        "references": [text],
                    }
                )
    return out

"""ESP-style multi-caption scores (ESPER's styled-caption benchmark): per-style metrics and diversity.

Protocol ``eval.py`` (ESPER's ``train/code/scripts/eval.py`` with ``metric/lang_metrics.py``): for
every style (sns, news, blog, story, instruction) each image has one reference, cut with
``'.'.join(ref.split('.')[:2]).strip()`` (only "." ends a sentence, the final period is dropped);
references and hypotheses are PTB-tokenized once, the hypotheses are cut to ``int`` of the mean
tokenized reference length of that style (floor, not round), and BLEU-1..4, METEOR, ROUGE-L and
CIDEr(-D) are computed per style on those tokens; the benchmark score is the unweighted mean over
styles. rewardkit adds per-style means of any per-caption score (CLIPScore, ITM) and the
diversity of one image's captions across styles (distinct-n and self-BLEU).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

ESP_STYLES = ("sns", "news", "blog", "story", "instruction")
PROTOCOLS = ("eval.py",)
"""ESP protocols offered. ESPER's second pipeline (``infers/common.py`` -> ``scripts/build_table.py``:
references cut to 20 GPT-2 tokens, no sentence cut, x100) needs GPT-2's tokenizer files, which
rewardkit cannot ship or fetch; it is described in ``data_cards/esp.md`` but not offered."""


def esp_reference(text: str) -> str:
    """ESPER's cut of a reference to "two sentences": split on "." only, keep two parts, strip.

    >>> esp_reference("A dog ran! It was 2.5 km. Then it slept.")
    'A dog ran! It was 2.5 km'
    >>> esp_reference("It cost 2.50. Then more. And more.")
    'It cost 2.50'
    """
    return ".".join(text.split(".")[:2]).strip()


def cut_tokenized(hyps_tok: Sequence[str], refs_tok: Sequence[str]) -> tuple[list[str], float]:
    """Tokenized hypotheses cut to ``int(mean tokenized reference length)`` tokens, and that mean (ESPER's ``cut=True``)."""
    mean_len = sum(len(r.split()) for r in refs_tok) / max(1, len(refs_tok))
    length = int(mean_len)
    return [" ".join(h.split()[:length]) for h in hyps_tok], mean_len


def cut_hypotheses(hyps: Sequence[str], refs: Sequence[str], *, java_tokenizer: bool = False) -> list[str]:
    """PTB-tokenized hypotheses cut to ``int`` of the mean PTB-token length of the references."""
    from rewardkit.metrics.captioning import ptb_texts

    return cut_tokenized(
        ptb_texts(hyps, java_tokenizer=java_tokenizer), ptb_texts(refs, java_tokenizer=java_tokenizer)
    )[0]


def style_metrics(
    hyps: Sequence[str], refs: Sequence[str], *, java_tokenizer: bool = False, meteor: bool | None = None
) -> tuple[dict[str, float], list[str]]:
    """One style's scores under the ``eval.py`` protocol (``refs`` already cut with :func:`esp_reference`)."""
    from rewardkit.metrics.captioning import score_tokenized, tokenize_for_eval

    keys = [str(i) for i in range(len(hyps))]
    res, gts = tokenize_for_eval(
        dict(zip(keys, hyps)), {k: [r] for k, r in zip(keys, refs)}, java_tokenizer=java_tokenizer
    )
    cut, ref_len = cut_tokenized([res[k][0] for k in keys], [gts[k][0] for k in keys])
    res = {k: [h] for k, h in zip(keys, cut)}
    metrics, notes = score_tokenized(res, gts, meteor=meteor, spice=False)
    metrics["ref_len"] = ref_len
    metrics["hyp_len"] = sum(len(h.split()) for h in cut) / max(1, len(cut))
    return metrics, notes


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
    java_tokenizer: bool = False,
    protocol: str = "eval.py",
) -> dict[str, Any]:
    """ESP scores of rows with ``style``, ``caption``, ``references`` and an image key ``image``.

    ``per_caption`` maps a score name (e.g. ``clipscore``) to one value per row; its per-style
    means are reported too. ``java_tokenizer`` uses the COCO toolkit's Java PTBTokenizer (as
    ESPER does). Returns ``{"styles": {style: {...}}, "mean": {...}, "diversity": {...}}``.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown ESP protocol {protocol!r}; offered: {', '.join(PROTOCOLS)}")

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
            refs = [esp_reference(rows[i]["references"][0]) for i in with_refs]
            metrics, more = style_metrics(
                [rows[i]["caption"] for i in with_refs], refs, java_tokenizer=java_tokenizer, meteor=meteor
            )
            notes.update(n for n in more if not n.startswith("SPICE"))
            entry.update(metrics)
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
    return {
        "protocol": protocol,
        "tokenizer": "java" if java_tokenizer else "python",
        "styles": styles,
        "mean": mean,
        "diversity": diversity,
        "notes": sorted(notes),
    }


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

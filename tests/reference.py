"""Reference implementations the tests compare rewardkit with (independent of the code under test)."""

from __future__ import annotations


def prefix_pieces(tokenizer, ids):
    """Token pieces by decoding every growing prefix (quadratic, but obviously right)."""
    pieces, prev = [], ""
    for k in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:k], skip_special_tokens=True, clean_up_tokenization_spaces=False)
        if not text.startswith(prev) or text.endswith("\ufffd"):
            pieces.append("")
            continue
        pieces.append(text[len(prev) :])
        prev = text
    return pieces


# ---------------------------------------------------------------- human-judgment protocols (their evaluation code, transcribed)


def flickr8k_items(data):
    """PAC-S ``data/dataset.py`` Flickr8k: one item per judgement, NaN ratings skipped, whitespace collapsed."""
    import math

    items = []
    for i in data:
        for judgement in data[i]["human_judgement"]:
            if math.isnan(judgement["rating"]):
                continue
            items.append(
                {
                    "image": data[i]["image_path"].split("/")[-1],
                    "references": [" ".join(gt.split()) for gt in data[i]["ground_truth"]],
                    "candidate": " ".join(judgement["caption"].split()),
                    "human_score": judgement["rating"],
                }
            )
    return items


def foil_items(foil, coco, one_ref):
    """Polos ``validate/compute_foil.py`` FoilDatset.get_data: (foil, orig) entries in order, refs without the original."""
    refs = {}
    for ann in coco["annotations"]:
        refs.setdefault(ann["image_id"], []).append(ann["caption"])
    images = {img["id"]: img for img in foil["images"]}
    data = {}
    for anno in foil["annotations"]:
        data.setdefault(anno["id"], {"foil": [], "orig": []})
        anno = dict(anno, image=images[anno["image_id"]], refs=refs[anno["image_id"]])
        data[anno["id"]]["foil" if anno["foil"] else "orig"].append(anno)
    out = []
    for _, d in data.items():
        foils, origs = d["foil"], d["orig"]
        for f, orig in zip(foils, [origs[0]] * len(foils)):
            r = [x for x in f["refs"] if x != orig["caption"]]
            if one_ref:
                r = [r[0]]
            out.append(
                {"file": f["image"]["file_name"], "refs": r, "foil": f["caption"], "orig": orig["caption"]}
            )
    return out


def pascal_labels(pairs, triplets):
    """Polos ``validate/pascal50s.py`` read_score on unwrapped strings: majority of 48 votes, ties at random (seed 42)."""
    import random

    rng = random.Random(42)  # the reference seeds the global generator with 42 and draws once per pair
    labels, references = [], []
    for i, (_, a, b) in enumerate(pairs):
        votes, refs = {}, []
        for j in range(i * 48, (i + 1) * 48):
            ref, cap_b, cap_c, d = triplets[j]
            key = cap_b.strip() if d == 1 else cap_c.strip()
            refs.append(ref.strip())
            votes[key] = votes.get(key, 0) + 1
        vote_a, vote_b = votes.get(a.strip(), 0), votes.get(b.strip(), 0)
        labels.append(0 if vote_a > vote_b + rng.random() - 0.5 else 1)
        references.append(refs)
    return labels, references


# ---------------------------------------------------------------- bad-phrase spans (rewardkit's definition before the trie matcher)


def _old_phrase_regex(phrase):
    """One phrase as rewardkit matched it before the trie (commit 21e44db): whole words, ``\\s+`` between."""
    import re

    parts = [re.escape(p) for p in phrase.split()]
    body = r"\s+".join(parts)
    if phrase[0].isalnum() or phrase[0] == "_":
        body = r"(?<!\w)" + body
    if phrase[-1].isalnum() or phrase[-1] == "_":
        body = body + r"(?!\w)"
    return body


def old_bad_phrase_spans(text, phrases, include_years=False):
    """The former ``bad_phrase_spans``: a lookahead alternation (longest phrase first) tried at every character.

    Quadratic-ish (every phrase at every position), kept verbatim as the definition the trie matcher must equal.
    """
    import re

    alternatives = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    regexes = [_old_phrase_regex(p) for p in alternatives]
    if include_years:
        regexes.append(r"(?<!\w)\d{4}(?!\w)")
    if not regexes:
        return []
    pattern = re.compile("(?=(" + "|".join(f"(?:{r})" for r in regexes) + "))", re.IGNORECASE)
    spans = []
    for m in pattern.finditer(text):
        start, end = m.start(1), m.end(1)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def old_repeated_word_spans(text, exempt):
    """The former ``repeated_word_spans`` (a word already seen earlier, case-insensitive, exempt words aside)."""
    import re

    word = re.compile(r"\w+(?:['\u2019]\w+)*")
    skip = frozenset(w.lower() for w in exempt)
    seen, spans = set(), []
    for m in word.finditer(text):
        w = m.group(0).lower()
        if w in skip:
            continue
        if w in seen:
            spans.append(m.span())
        seen.add(w)
    return spans


def old_flag_count(text, spans):
    """Former penalty value without a tokenizer: word pieces (``\\s*\\S+``) whose non-space part overlaps a span."""
    import re

    count = 0
    for m in re.finditer(r"\S+", text):
        start, end = m.span()
        count += any(s < end and e > start for s, e in spans)
    return count

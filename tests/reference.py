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


# ---------------------------------------------------------------- CaptionEvalKit-for-VLMs (YuigaWada/CaptionEvalKit-for-VLMs @ 23f154b)
# capevalkit/infrastructure/benchmarks/legacy.py readers, capevalkit/domain/evaluation/correlations.py,
# capevalkit/domain/evaluation/policies.py and capevalkit/interfaces/python_api.py, transcribed on rows in memory.


def capevalkit_kendall(values, targets):
    """correlations.py kendall_correlations: tau-b and tau-c x100 by a Fenwick-tree count of discordant pairs."""
    from collections import Counter
    from math import isnan, sqrt

    pairs_list = [(float(v), float(t)) for v, t in zip(values, targets, strict=True)]
    n = len(pairs_list)
    if n < 2:
        return {"kendall_tau_b": 0.0, "kendall_tau_c": 0.0}
    xs = [v for v, _ in pairs_list]
    ys = [t for _, t in pairs_list]
    if any(isnan(v) for v in xs) or any(isnan(t) for t in ys):
        raise ValueError("Kendall correlation cannot be computed with NaN values")

    def pc(c):
        return c * (c - 1) // 2

    pair_count = n * (n - 1) // 2
    tie_x = sum(pc(c) for c in Counter(xs).values())
    tie_y = sum(pc(c) for c in Counter(ys).values())
    tie_both = sum(pc(c) for c in Counter(pairs_list).values())
    comparable = pair_count - tie_x - tie_y + tie_both
    y_ranks = {v: i + 1 for i, v in enumerate(sorted(set(ys)))}
    tree = [0] * (len(y_ranks) + 1)

    def add(i):
        while i < len(tree):
            tree[i] += 1
            i += i & -i

    def total(i):
        s = 0
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s

    discordant = seen = 0
    sp = sorted(pairs_list)
    i = 0
    while i < n:
        end = i + 1
        while end < n and sp[end][0] == sp[i][0]:
            end += 1
        for _, t in sp[i:end]:
            discordant += seen - total(y_ranks[t])
        for _, t in sp[i:end]:
            add(y_ranks[t])
            seen += 1
        i = end
    numerator = comparable - 2 * discordant
    denom_b = sqrt((pair_count - tie_x) * (pair_count - tie_y))
    distinct = min(len(set(xs)), len(set(ys)))
    denom_c = (n * n * (distinct - 1) / (2 * distinct)) if distinct > 1 else 0
    return {
        "kendall_tau_b": 100 * numerator / denom_b if denom_b else 0.0,
        "kendall_tau_c": 100 * numerator / denom_c if denom_c else 0.0,
    }


def _cek_refs(value):
    import ast

    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, str):
        parsed = ast.literal_eval(value)
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    return []


def _cek_norm(value):
    return " ".join(str(value).split())


def capevalkit_composite_items(rows):
    """legacy.py _hf_embedded_row_to_item over yuwd/Composite's test rows: (image name, caption, refs, score)."""
    from pathlib import Path

    out = []
    for row_index, row in enumerate(rows):
        image_name = str(row.get("imgid") or row.get("file_name") or row.get("id") or row_index)
        out.append(
            (
                Path(image_name).name,
                _cek_norm(row.get("cand", row.get("mt", row.get("caption", "")))),
                [_cek_norm(r) for r in _cek_refs(row.get("refs", row.get("references", [])))],
                float(row.get("human_score", row.get("score"))),
            )
        )
    return out


def capevalkit_csv_items(csv_path):
    """legacy.py _load_csv_benchmark: (image name, caption, refs, score) per CSV row."""
    import csv

    out = []
    with open(csv_path, newline="") as file:
        for row in csv.DictReader(file):
            image_name = str(row.get("image") or row.get("image_path") or row.get("imgid"))
            caption = row.get("mt") if row.get("mt") is not None else row.get("cand")
            out.append(
                (
                    image_name,
                    _cek_norm(caption),
                    [_cek_norm(r) for r in _cek_refs(row.get("refs", "[]"))],
                    float(row["score"]),
                )
            )
    return out


def capevalkit_nebula_items(rows, spica_csvs, corrections=True):
    """legacy.py _hf_nebula_row_to_item + _apply_nebula_score_corrections (+ _load_spica_score_lookup)."""
    import csv
    from pathlib import Path

    items = []
    for row in rows:
        image_name = str(row.get("file_name") or row.get("imgid"))
        items.append(
            [
                image_name,
                _cek_norm(row["mt"]),
                [_cek_norm(r) for r in _cek_refs(row["refs"])],
                float(row.get("human_score", row.get("score"))),
            ]
        )
    if not corrections:
        return [tuple(i) for i in items]
    totals, counts = {}, {}
    for path in spica_csvs:
        with open(path, newline="") as file:
            for row in csv.DictReader(file):
                key = f"{Path(str(row['imgid'])).stem}\t{_cek_norm(str(row['mt']))}"
                totals[key] = totals.get(key, 0.0) + float(row["score"])
                counts[key] = counts.get(key, 0) + 1
    lookup = {k: totals[k] / counts[k] for k in totals}
    return [
        (name, cap, refs, lookup.get(f"{Path(name).stem}\t{_cek_norm(cap)}", score))
        for name, cap, refs, score in items
    ]


def capevalkit_longcaparena_items(rows):
    """legacy.py _write_hf_longcaparena_cache row mapping: (file name, caption, refs, score)."""
    return [
        (str(r["file_name"]), _cek_norm(r["cand"]), [_cek_norm(x) for x in r["refs"]], float(r["score"]))
        for r in rows
    ]


def capevalkit_score_values(metric_output, score_key=None):
    """policies.py MetricOutputNormalizationPolicy.score_values: (score name, {id: score})."""
    meta = {"id", "score", "scores", "ground_truth_score", "caption", "image", "references"}

    def default_key(value):
        if not isinstance(value, dict):
            return "score"
        scores = value.get("scores")
        if isinstance(scores, dict) and scores:
            return str(next(iter(scores)))
        if "score" in value:
            return "score"
        return str(next(iter(value)))

    def extract(value, key):
        if not isinstance(value, dict):
            return float(value)
        if key and key in value:
            return float(value[key])
        scores = value.get("scores")
        if isinstance(scores, dict):
            if key and key in scores:
                return float(scores[key])
            if "score" in scores:
                return float(scores["score"])
            for s in scores.values():
                return float(s)
        if "score" in value:
            return float(value["score"])
        for k, s in value.items():
            if k in meta:
                continue
            try:
                return float(s)
            except (TypeError, ValueError):
                continue
        raise ValueError("no score")

    for key, value in metric_output.items():
        if score_key and key != score_key:
            continue
        if isinstance(value, dict) and isinstance(value.get("per_item"), dict):
            return key, {str(i): extract(s, key) for i, s in value["per_item"].items()}
    if isinstance(metric_output.get("per_item"), dict):
        per_item = metric_output["per_item"]
        first = next(iter(per_item.values()), None)
        if isinstance(first, dict):
            key = score_key or default_key(first)
            return key, {str(i): extract(s, key) for i, s in per_item.items()}
        key = score_key or "score"
        return key, {str(i): extract(s, key) for i, s in per_item.items()}
    raise ValueError("metric output does not contain per_item scores")


def capevalkit_normalize_metric_output(result, metric_name):
    """python_api.py _normalize_metric_output for a plain mapping {id: score} (what evaluate_metric accepts)."""
    from collections.abc import Mapping

    if not isinstance(result, Mapping):
        raise TypeError("metric callable must return a mapping or MetricOutput")
    if isinstance(result.get("per_item"), Mapping) or any(
        isinstance(v, Mapping) and isinstance(v.get("per_item"), Mapping) for v in result.values()
    ):
        return dict(result)
    per_item = {str(i): float(s) for i, s in result.items()}
    return {
        metric_name: {
            "score": sum(per_item.values()) / len(per_item) if per_item else 0.0,
            "per_item": per_item,
        }
    }


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

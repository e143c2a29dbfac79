"""CIDEr-D (Vedantam et al. 2015) exactly as the COCO toolkit computes it, vectorised with numpy.

The COCO toolkit's ``Cider`` is CIDEr-D: n = 1..4, tf-idf vectors with document frequencies
taken from the *evaluated* references (idf = log(#images) - log(max(1, df))), hypothesis
weights clipped at the reference's, a Gaussian length penalty with sigma = 6, the mean over
n-gram orders, the mean over references, times 10. Its quirks are kept so scores match to
1e-9: the "length" in the penalty counts *bigrams* (the toolkit's ``n == 1`` test on a
0-based order index), and n-grams unseen in the references get idf log(#images).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, count

import numpy as np


def _unique_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values of an int array and their counts (a sort and a diff)."""
    a = np.sort(a)
    if not len(a):
        return a, np.zeros(0, dtype=np.int64)
    first = np.empty(len(a), dtype=bool)
    first[0] = True
    np.not_equal(a[1:], a[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return a[starts], np.diff(np.append(starts, len(a)))


def _ngram_ids(words: np.ndarray, sent: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per order k = 1..n: (start positions, compact ids) of every k-gram that stays inside its sentence."""
    n_words = len(words)
    base = int(words.max()) + 1 if n_words else 1
    pos, ids = np.arange(n_words), words.astype(np.int64)
    out = [(pos, ids)]
    for k in range(2, n + 1):
        inside = pos + k - 1 < n_words  # positions are sorted: this drops a tail
        cand, cand_ids = pos[inside], ids[inside]
        keep = sent[cand] == sent[cand + k - 1]
        pos = cand[keep]
        _, ids = np.unique(cand_ids[keep] * base + words[pos + k - 1], return_inverse=True)
        ids = ids.astype(np.int64).reshape(-1)
        out.append((pos, ids))
    return out


def cider_d(
    candidates: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    *,
    tokenize: bool = True,
    n: int = 4,
    sigma: float = 6.0,
) -> tuple[float, dict[str, float]]:
    """Corpus CIDEr-D and per-id scores; ``tokenize`` applies :func:`ptb_tokenize` to both sides first.

    >>> score, per_id = cider_d({"a": "a dog runs", "b": "a cat"}, {"a": ["a dog runs fast"], "b": ["a black cat"]})
    >>> round(per_id["a"], 4) > round(per_id["b"], 4)
    True
    """
    ids = list(candidates)
    if set(ids) != set(references):
        missing = sorted(set(ids) ^ set(references))[:5]
        raise ValueError(f"candidates and references must have the same ids (differ: {missing})")
    if not ids:
        raise ValueError("no candidates to score")
    hyps = [candidates[i] for i in ids]
    refs = [list(references[i]) for i in ids]
    if any(len(r) == 0 for r in refs):
        raise ValueError("every id needs at least one reference")
    if tokenize:
        from rewardkit.functional.ptb import ptb_tokenize

        # Two calls, as pycocoevalcap tokenizes candidates and references.
        hyps, rest = ptb_tokenize(hyps), ptb_tokenize([r for rs in refs for r in rs])
        out, k = [], 0
        for rs in refs:
            out.append(rest[k : k + len(rs)])
            k += len(rs)
        refs = out
    scores = _cider_arrays(hyps, refs, n, sigma)
    return float(np.mean(scores)), dict(zip(ids, scores.tolist()))


def _cider_arrays(hyps: list[str], refs: list[list[str]], n: int, sigma: float) -> np.ndarray:
    n_img = len(hyps)
    n_refs = np.array([len(r) for r in refs])
    sentences = hyps + [r for rs in refs for r in rs]
    # sentence -> image; hypotheses are sentences 0..n_img-1
    img_of = np.concatenate([np.arange(n_img), np.repeat(np.arange(n_img), n_refs)])
    is_ref = np.arange(len(sentences)) >= n_img
    tokens = list(map(str.split, sentences))
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    # Word ids: the first position of each word (ids need not be compact, only equal for equal words).
    vocab: dict[str, int] = {}
    flat = list(chain.from_iterable(tokens))
    words = np.fromiter(map(vocab.setdefault, flat, count()), dtype=np.int64, count=len(flat))
    sent = np.repeat(np.arange(len(sentences)), lengths)
    n_sent = len(sentences)
    ref_len = np.log(float(n_img))
    # The toolkit's length: the number of bigrams (its order index 1).
    length = np.maximum(lengths - 1, 0).astype(np.float64)

    val = np.zeros((n_sent - n_img, n))  # per reference sentence, per order
    norm_h = np.zeros((n_img, n))
    norm_r = np.zeros((n_sent - n_img, n))
    for k, (pos, gid) in enumerate(_ngram_ids(words, sent, n)):
        s_of = sent[pos]
        n_g = int(gid.max()) + 1 if len(gid) else 1
        # term frequencies per (sentence, n-gram)
        ukey, tf = _unique_counts(s_of * n_g + gid)
        ts, tg = ukey // n_g, ukey % n_g
        # document frequency: images whose references contain the n-gram
        rmask = is_ref[ts]
        dkey, _ = _unique_counts(img_of[ts[rmask]] * n_g + tg[rmask])
        df = np.bincount(dkey % n_g, minlength=n_g).astype(np.float64)
        weight = ref_len - np.log(np.maximum(1.0, df))
        vec = tf * weight[tg]
        sq = np.bincount(ts, weights=vec * vec, minlength=n_sent)
        norm_h[:, k] = np.sqrt(sq[:n_img])
        norm_r[:, k] = np.sqrt(sq[n_img:])
        # clipped dot product: for each reference entry, the hypothesis entry of the same image and n-gram
        hmask = ~rmask
        hkey = img_of[ts[hmask]] * n_g + tg[hmask]  # sorted: hypothesis sentence index == image index
        hvec = vec[hmask]
        rkey = img_of[ts[rmask]] * n_g + tg[rmask]
        rvec = vec[rmask]
        at = np.searchsorted(hkey, rkey)
        at_c = np.minimum(at, max(len(hkey) - 1, 0))
        found = (at < len(hkey)) & (hkey[at_c] == rkey) if len(hkey) else np.zeros(len(rkey), dtype=bool)
        contrib = np.where(found, np.minimum(hvec[at_c] if len(hkey) else 0.0, rvec) * rvec, 0.0)
        val[:, k] = np.bincount(ts[rmask] - n_img, weights=contrib, minlength=n_sent - n_img)
    ref_img = img_of[n_img:]
    denom = norm_h[ref_img] * norm_r
    val = np.where(denom != 0, val / np.where(denom != 0, denom, 1.0), val)
    delta = length[:n_img][ref_img] - length[n_img:]
    val *= np.e ** (-(delta**2) / (2 * sigma**2))[:, None]
    per_ref = val.mean(axis=1)
    per_img = np.bincount(ref_img, weights=per_ref, minlength=n_img) / n_refs * 10.0
    return per_img

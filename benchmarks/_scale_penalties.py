"""Text penalties at RL-batch scale: the three VLRM penalties on 4,096 captions against one word scan.

Part of ``bench_scale.py`` (key ``penalties_vs_word_scan``, target <= 5), runnable alone:

    PYTHONPATH=. python benchmarks/_scale_penalties.py [--quick]

The captions: 30 % real COCO captions (``tests/functional/data/ptb_java_3.4.1.jsonl``), 70 %
COCO-style template captions; 10 % get a packaged bad phrase in front (as reward-hacked captions
do), 3 % a year. Baseline, in the same run and interleaved with the penalties: one
``re.findall(r"\\w+", c)`` per caption. Each repetition times the baseline and each penalty's
``score`` (no tokenizer: word pieces) once; the reported ratio is the median over repetitions of
(bad + repeat + noeos) / word scan. Also measured: the former bad-phrase definition (the
alternation kept in ``tests/reference.py``) on the same captions, and the trie matcher's time per
character on one long caption of ~10^5 and ~10^6 characters (linear: the ratio stays near 1; both
sizes are past the CPU caches, which make shorter texts faster per character).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SUBJECTS = (
    "a man|a woman|two dogs|a cat|a group of people|a young boy|an elderly couple|a train|a red bus|"
    "a plate of food|a skier|a baseball player|three zebras|a kitchen|a little girl|a giraffe"
).split("|")
_VERBS = (
    "sitting on|standing next to|riding|walking down|holding|looking at|parked near|eating|playing with|"
    "lying on|flying over|crossing"
).split("|")
_OBJECTS = (
    "a wooden bench|the beach|a busy street|a snowy hill|a large field|a table|a surfboard|a frisbee|"
    "the grass|an umbrella|a laptop|a river"
).split("|")
_TAILS = ["", " in the rain", " at night", " on a sunny day", " near a building", " with trees behind"]


def captions(n: int = 4096, seed: int = 0) -> list[str]:
    """``n`` captions as a captioner emits them (see the module docstring)."""
    from rewardkit.functional.penalties import default_bad_phrases

    coco_file = ROOT / "tests" / "functional" / "data" / "ptb_java_3.4.1.jsonl"
    coco = [json.loads(line)["text"] for line in coco_file.read_text("utf-8").splitlines()]
    bad = list(default_bad_phrases())
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.3:
            c = rng.choice(coco)
        else:
            c = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}"
            if rng.random() < 0.5:
                c = c[0].upper() + c[1:] + "."
        if rng.random() < 0.1:
            c = rng.choice(bad) + " " + c
        if rng.random() < 0.03:
            c = f"{c} in {rng.randint(1900, 2020)}"
        out.append(c)
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    """Measure; returns ``penalties_vs_word_scan`` and each penalty's captions/s (see module docstring)."""
    from rewardkit.functional.penalties import phrase_matcher
    from rewardkit.rewards import BadPhrasePenalty, NoEOSPenalty, RepeatPenalty

    caps = captions(4096)
    ended = [i % 5 != 0 for i in range(len(caps))]
    word = re.compile(r"\w+")
    penalties = {"bad": BadPhrasePenalty(), "repeat": RepeatPenalty(), "noeos": NoEOSPenalty()}
    for p in penalties.values():  # compile the phrase trie, load the lists
        p.score(caps[:8], ended_with_eos=ended[:8])
    reps = 5 if quick else 21
    scan, times = [], {k: [] for k in penalties}
    for _ in range(reps):
        scan.append(_timed(lambda: [word.findall(c) for c in caps]))
        for name, p in penalties.items():
            times[name].append(_timed(lambda p=p: p.score(caps, ended_with_eos=ended)))
    ratios = [sum(times[k][i] for k in penalties) / scan[i] for i in range(reps)]
    result = {
        "n_captions": len(caps),
        "repetitions": reps,
        "penalties_vs_word_scan": round(statistics.median(ratios), 3),
        "penalties_vs_word_scan_target": 5.0,
        "word_scan_captions_per_s": round(len(caps) / statistics.median(scan)),
        "captions_per_s": {k: round(len(caps) / statistics.median(v)) for k, v in times.items()},
        "captions_with_a_bad_phrase": sum(bool(phrase_matcher().spans(c)) for c in caps),
    }
    try:  # the former definition, for the speed-up (tests/reference.py, from a checkout)
        sys.path.insert(0, str(ROOT))
        from rewardkit.functional.penalties import default_bad_phrases
        from tests.reference import old_bad_phrase_spans

        phrases = default_bad_phrases()
        subset = caps[: 512 if quick else 2048]
        old = min(_timed(lambda: [old_bad_phrase_spans(c, phrases, True) for c in subset]) for _ in range(2))
        new = min(_timed(lambda: [phrase_matcher().spans(c) for c in subset]) for _ in range(3))
        result["former_bad_phrase_spans_captions_per_s"] = round(len(subset) / old)
        result["bad_phrase_spans_speedup_vs_former"] = round(old / new, 1)
    except ImportError as err:
        result["former_bad_phrase_spans_skipped"] = f"tests/reference.py not importable: {err}"
    matcher = phrase_matcher()
    rng = random.Random(1)
    block = " ".join(rng.choice(caps) for _ in range(2000))  # ~100,000 characters of captions
    per_char = {}
    for copies in (1, 10):
        text = " ".join([block] * copies)
        per_char[len(text)] = min(_timed(lambda t=text: matcher.spans(t)) for _ in range(3)) / len(text)
    (short, t_short), (long, t_long) = sorted(per_char.items())
    result["long_caption_chars"] = [short, long]
    result["long_caption_ns_per_char"] = [round(t_short * 1e9, 1), round(t_long * 1e9, 1)]
    result["long_caption_time_per_char_ratio"] = round(t_long / t_short, 2)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

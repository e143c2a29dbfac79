"""Caption-metric speed: rewardkit's CIDEr-D and PTB tokenizer vs pycocoevalcap's, measured in one run.

  CIDEr-D: 5,000 images x 5 references (COCO Karpathy test size), already tokenized, pycocoevalcap
           ``Cider().compute_score`` vs ``rewardkit.functional.cider_d(tokenize=False)``; scores must
           agree to 1e-9. Target: >= 10x.
  PTB:     25,000 captions, pycocoevalcap's Java ``PTBTokenizer`` (a JVM per call, as the toolkit runs
           it) vs ``rewardkit.functional.ptb_tokenize``; outputs compared. Target: >= 3x.
           Also reported, without a target: the hard-caption corpus of tests/functional (every caption
           off the fast path, through the lexer), whose Python speed is below Java's.

Captions come from a seeded COCO-style generator (articles, adjectives, nouns, verbs, prepositions,
commas, clitics, final periods). Run: python benchmarks/bench_metrics.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import time
from pathlib import Path

NOUNS = (
    "man woman person boy girl child dog cat horse cow sheep bird giraffe elephant zebra bear train bus car "
    "truck plane boat bicycle motorcycle skateboard surfboard kite umbrella pizza sandwich plate table bench "
    "clock sign street field beach wave snow tree kitchen bathroom toilet sink bed couch laptop phone"
).split()
ADJS = "red blue green yellow white black large small young old little tall wooden empty busy grassy".split()
VERBS = "riding holding sitting standing walking eating flying playing laying looking carrying".split()
PREPS = "on in next to near with under behind in front of at".split()


def caption(rng: random.Random) -> str:
    """A COCO-style caption."""

    def np_() -> str:
        words = [rng.choice(("a", "the", "two", "a couple of"))]
        if rng.random() < 0.6:
            words.append(rng.choice(ADJS))
        words.append(rng.choice(NOUNS) + ("'s" if rng.random() < 0.05 else ""))
        return " ".join(words)

    text = f"{np_()} {rng.choice(VERBS)} {rng.choice(PREPS)} {np_()}"
    if rng.random() < 0.4:
        text += f"{rng.choice([',', ''])} {rng.choice(PREPS)} {np_()}"
    if rng.random() < 0.1:
        text = text.replace(" is ", " isn't ")
    text = text[0].upper() + text[1:]
    return text + rng.choice([".", "", " .", "!"])


def timed(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_cider(rng: random.Random, repeat: int) -> dict:
    from pycocoevalcap.cider.cider import Cider

    from rewardkit.functional import cider_d, ptb_tokenize

    n_img = 5000
    raw_refs = {str(i): [caption(rng) for _ in range(5)] for i in range(n_img)}
    raw_cands = {str(i): caption(rng) for i in range(n_img)}
    cands = dict(zip(raw_cands, ptb_tokenize(list(raw_cands.values()))))
    refs = {k: ptb_tokenize(v) for k, v in raw_refs.items()}
    t_ref, (s_ref, per_ref) = timed(
        lambda: Cider().compute_score(refs, {k: [v] for k, v in cands.items()}), repeat
    )
    t_ours, (s_ours, per_ours) = timed(lambda: cider_d(cands, refs, tokenize=False), repeat)
    max_diff = max(abs(a - per_ours[k]) for a, k in zip(per_ref, refs))
    return {
        "images": n_img,
        "references_per_image": 5,
        "pycocoevalcap_s": t_ref,
        "rewardkit_s": t_ours,
        "speedup": t_ref / t_ours,
        "target": 10.0,
        "met": bool(t_ref / t_ours >= 10.0),
        "corpus_score": float(s_ours),
        "max_abs_diff": float(max_diff),
        "equal_to_1e-9": bool(abs(s_ref - s_ours) <= 1e-9 and max_diff <= 1e-9),
    }


def bench_ptb(rng: random.Random, repeat: int) -> dict | None:
    if shutil.which("java") is None:
        return None
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from rewardkit.functional import ptb_tokenize

    texts = [caption(rng) for _ in range(25_000)]
    data = {str(i): [{"caption": t}] for i, t in enumerate(texts)}
    t_java, java = timed(lambda: PTBTokenizer().tokenize(data), repeat)
    t_ours, ours = timed(lambda: ptb_tokenize(texts), repeat)
    same = sum(java[str(i)][0] == o for i, o in enumerate(ours))
    return {
        "captions": len(texts),
        "java_s": t_java,
        "rewardkit_s": t_ours,
        "speedup": t_java / t_ours,
        "target": 3.0,
        "met": t_java / t_ours >= 3.0,
        "identical_share": same / len(texts),
    }


def bench_ptb_hard(repeat: int) -> dict | None:
    """The tests' hard-caption corpus: all through the lexer (informational)."""
    if shutil.which("java") is None:
        return None
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from rewardkit.functional.ptb import _SEPARATORS_TO_SPACE, ptb_tokenize

    path = Path(__file__).resolve().parents[1] / "tests" / "functional" / "data" / "ptb_hard_captions.json"
    texts = [t.translate(_SEPARATORS_TO_SPACE) for t in json.loads(path.read_text(encoding="ascii"))]
    data = {str(i): [{"caption": t}] for i, t in enumerate(texts)}
    t_java, java = timed(lambda: PTBTokenizer().tokenize(data), repeat)
    t_ours, ours = timed(lambda: ptb_tokenize(texts), repeat)
    same = sum(java[str(i)][0] == o for i, o in enumerate(ours))
    return {
        "captions": len(texts),
        "java_s": t_java,
        "rewardkit_s": t_ours,
        "identical_share": same / len(texts),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="Best of this many runs per side.")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_metrics.json")
    args = ap.parse_args()
    rng = random.Random(0)
    result = {
        "cider_d": bench_cider(rng, args.repeat),
        "ptb_tokenize": bench_ptb(rng, args.repeat),
        "ptb_tokenize_hard": bench_ptb_hard(args.repeat),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
    }
    c, p = result["cider_d"], result["ptb_tokenize"]
    print(
        f"CIDEr-D 5,000 x 5: pycocoevalcap {c['pycocoevalcap_s']:.3f} s, rewardkit {c['rewardkit_s']:.3f} s "
        f"-> {c['speedup']:.1f}x (target >= 10x, {'met' if c['met'] else 'NOT met'}); equal to 1e-9: {c['equal_to_1e-9']}"
    )
    if p is None:
        print("PTB: Java not installed, the Java tokenizer cannot be timed")
    else:
        print(
            f"PTB 25,000 captions: Java {p['java_s']:.3f} s, rewardkit {p['rewardkit_s']:.3f} s -> {p['speedup']:.1f}x "
            f"(target >= 3x, {'met' if p['met'] else 'NOT met'}); identical outputs: {p['identical_share']:.4f}"
        )
    h = result["ptb_tokenize_hard"]
    if h is not None:
        print(
            f"PTB hard corpus ({h['captions']:,} captions, all through the lexer): Java {h['java_s']:.3f} s, "
            f"rewardkit {h['rewardkit_s']:.3f} s; identical outputs: {h['identical_share']:.4f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

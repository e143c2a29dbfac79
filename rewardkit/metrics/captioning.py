"""Reference-based COCO caption metrics: CIDEr-D, BLEU-1..4, METEOR, ROUGE-L (and SPICE when installed)."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (METEOR, SPICE and the original PTB tokenizer need it)."""
    return shutil.which("java") is not None


def spice_available() -> bool:
    """Whether SPICE's Stanford CoreNLP models are already on disk (SPICE never downloads here)."""
    try:
        import pycocoevalcap.spice as spice
    except ImportError:  # pragma: no cover
        return False
    lib = Path(spice.__file__).parent / "lib"
    return (
        java_available()
        and (lib / "stanford-corenlp-3.6.0.jar").exists()
        and (lib / "stanford-corenlp-3.6.0-models.jar").exists()
    )


def java_ptb_tokenize(texts: Sequence[str]) -> list[str]:
    """The COCO toolkit's Java PTBTokenizer on ``texts``, as pycocoevalcap runs it, one caption per line.

    pycocoevalcap only replaces ``"\\n"`` in a caption, so a ``"\\r"``, ``"\\x0b"``, ``"\\u2028"`` ... splits it
    into two lines and every later caption is paired with the wrong tokens. Here every line separator
    ``str.splitlines`` knows is a space first, and the output must have exactly one line per caption.
    """
    from pycocoevalcap.tokenizer import ptbtokenizer

    from rewardkit.errors import RewardkitError
    from rewardkit.functional.ptb import _SEPARATORS_TO_SPACE, PUNCTUATIONS

    if not java_available():
        raise RewardkitError(
            "--java-tokenizer needs Java (install a JRE, e.g. apt install default-jre-headless)"
        )
    texts = list(texts)
    if not texts:
        return []
    jar = Path(ptbtokenizer.__file__).parent / ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR
    lines = [t.translate(_SEPARATORS_TO_SPACE) for t in texts]
    with tempfile.TemporaryDirectory(prefix="rewardkit-ptb-") as tmp:
        src = Path(tmp) / "captions.txt"
        src.write_bytes("\n".join(lines).encode("utf-8"))
        cmd = [
            "java",
            "-cp",
            str(jar),
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
        ]
        done = subprocess.run([*cmd, str(src)], capture_output=True)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RewardkitError(
            f"the Java PTB tokenizer failed (exit {done.returncode}): {err[-1] if err else ''}"
        )
    out = done.stdout.decode("utf-8").split("\n")
    if len(out) != len(texts):
        raise RewardkitError(
            f"the Java PTB tokenizer returned {len(out)} lines for {len(texts)} captions: rows would be "
            "misaligned, so nothing is scored with it (use the default Python tokenizer)"
        )
    return [" ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS) for line in out]


def ptb_texts(texts: Sequence[str], *, java_tokenizer: bool = False) -> list[str]:
    """PTB-tokenized texts (the COCO toolkit's Java tokenizer, or its pure-Python copy)."""
    if java_tokenizer:
        return java_ptb_tokenize(texts)
    from rewardkit.functional.ptb import ptb_tokenize

    return ptb_tokenize(list(texts))


def tokenize_for_eval(
    candidates: Mapping[str, str], references: Mapping[str, Sequence[str]], *, java_tokenizer: bool = False
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Both sides PTB-tokenized, in pycocoevalcap's ``{id: [sentence, ...]}`` form."""
    ids = list(candidates)
    # Candidates and references in two calls, as pycocoevalcap's evaluation does (the tokenizer reads each
    # call as one stream: a caption's last token can depend on the next caption).
    tokenize = ptb_texts
    cands = tokenize([candidates[i] for i in ids], java_tokenizer=java_tokenizer)
    flat = tokenize([r for i in ids for r in references[i]], java_tokenizer=java_tokenizer)
    res = {i: [cands[k]] for k, i in enumerate(ids)}
    gts, k = {}, 0
    for i in ids:
        n = len(references[i])
        gts[i] = flat[k : k + n]
        k += n
    return res, gts


def coco_metrics(
    candidates: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    *,
    java_tokenizer: bool = False,
    meteor: bool | None = None,
    spice: bool | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Corpus CIDEr-D, BLEU-1..4, METEOR, ROUGE-L (SPICE) and notes on what was left out.

    Candidates with no references are ignored. ``meteor``/``spice`` default to "when possible".
    """
    ids = [i for i in candidates if references.get(i)]
    if not ids:
        return {}, ["no references: reference-based metrics left out"]
    res, gts = tokenize_for_eval(
        {i: candidates[i] for i in ids}, {i: references[i] for i in ids}, java_tokenizer=java_tokenizer
    )
    return score_tokenized(res, gts, meteor=meteor, spice=spice)


def score_tokenized(
    res: Mapping[str, Sequence[str]],
    gts: Mapping[str, Sequence[str]],
    *,
    meteor: bool | None = None,
    spice: bool | None = None,
) -> tuple[dict[str, float], list[str]]:
    """The COCO metrics of already PTB-tokenized candidates and references (``{id: [sentence]}``), not tokenized again."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.rouge.rouge import Rouge

    from rewardkit.functional.cider import cider_d

    ids = list(res)
    notes: list[str] = []
    out: dict[str, float] = {}
    out["CIDEr-D"], _ = cider_d({i: res[i][0] for i in ids}, gts, tokenize=False)
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    for n, value in enumerate(bleu, start=1):
        out[f"BLEU-{n}"] = float(value)
    out["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    want_meteor = java_available() if meteor is None else meteor
    if want_meteor and java_available():
        from pycocoevalcap.meteor.meteor import Meteor

        scorer = Meteor()
        try:
            out["METEOR"] = float(scorer.compute_score(gts, res)[0])
        finally:
            with contextlib.suppress(Exception):
                scorer.meteor_p.kill()
    elif want_meteor or meteor is None:
        notes.append("METEOR left out: it needs Java (install a JRE, e.g. apt install default-jre-headless)")
    want_spice = spice_available() if spice is None else spice
    if want_spice and spice_available():
        from pycocoevalcap.spice.spice import Spice

        out["SPICE"] = float(Spice().compute_score(gts, res)[0])
    else:
        notes.append("SPICE left out: its Stanford CoreNLP models are not on disk")
    return out, notes

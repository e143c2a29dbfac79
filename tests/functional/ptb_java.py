"""The COCO toolkit's Java PTBTokenizer as the tests' reference, and the character table derived from it.

``java_ptb(texts)`` tokenizes as pycocoevalcap does (its ``PTBTokenizer().tokenize``), after reading
each caption's line separators as spaces, as rewardkit does. ``python -m tests.functional.ptb_java``
prints the table of letters and digits the Java lexer uses (``rewardkit/data/ptb_java_classes.json``):
its JFlex tables follow an older Unicode than Python's, so they are measured, not assumed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

from rewardkit.functional.ptb import _SEPARATORS_TO_SPACE

# Hyphen-like characters that join words through other rules (left out of the measurement).
HYPHENS = {0x00AD, 0x058A, 0x2010, 0x2011}


def have_java() -> bool:
    return shutil.which("java") is not None


def java_ptb(texts: list[str]) -> list[str]:
    """pycocoevalcap's PTBTokenizer on ``texts`` (one call, in order: the same character stream)."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    clean = [t.translate(_SEPARATORS_TO_SPACE) for t in texts]
    out = PTBTokenizer().tokenize({str(i): [{"caption": t}] for i, t in enumerate(clean)})
    return [out[str(i)][0] for i in range(len(texts))]


def _raw_java_lines(lines: list[str]) -> list[str]:
    """The Java tokenizer's raw output lines (punctuation kept), one JVM for all."""
    import pycocoevalcap.tokenizer.ptbtokenizer as mod

    jar = Path(mod.__file__).parent / "stanford-corenlp-3.4.1.jar"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.txt"
        src.write_text("\n".join(lines), encoding="utf-8")
        cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", str(src)]
        out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8")
    return out.split("\n")[: len(lines)]


def _ranges(codes: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for c in sorted(codes):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def measure_classes() -> dict:
    """Which BMP characters the Java lexer treats as letters and digits (non-ASCII; ASCII is fixed).

    A character ``c`` is word-internal when ``"a" + c + "b"`` stays one token; among those, a digit
    is one that makes ``"-" + c`` a signed number.
    """
    skip = {ord(c) for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"} | HYPHENS
    codes = [i for i in range(0x80, 0x10000) if not 0xD800 <= i < 0xE000 and i not in skip]
    lines = [f"a{chr(i)}b -{chr(i)}" for i in codes]
    out = _raw_java_lines(lines)
    letters, digits = [], []
    for i, line in zip(codes, out):
        toks = line.split(" ")
        if toks and toks[0] == f"a{chr(i)}b":
            (digits if toks[1:] == [f"-{chr(i)}"] else letters).append(i)
    # [:letter:] proper leaves out the marks the grammar only allows inside words.
    plain = [i for i in letters if unicodedata.category(chr(i))[0] == "L" or i in range(0x0237, 0x0250)]
    return {
        "source": "edu.stanford.nlp.process.PTBLexer of stanford-corenlp-3.4.1 (pycocoevalcap), measured",
        "letter": _ranges(letters + [ord(c) for c in "\u00ad"]),
        "letter_proper": _ranges(plain),
        "digit": _ranges(digits),
    }


if __name__ == "__main__":
    print(json.dumps(measure_classes(), separators=(",", ":")))

"""Token-level text penalties of VLRM Eq. 1: bad phrases, repeated words, missing EOS.

Every function works on *decoded token pieces*: the strings of the generated tokens, each
with its leading space, so that ``"".join(tokens)`` is the caption. A token is flagged
when its character span overlaps a flagged span of the caption.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

YEAR_PATTERN = r"\d{4}"
"""Regex of the year penalty (VLRM Section 4.4: years such as "in 1993")."""

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def load_word_list(name_or_path: str) -> tuple[str, ...]:
    """Read a one-entry-per-line list ('#' comments) from a packaged name or a file path."""
    packaged = resources.files("rewardkit.data").joinpath(f"{name_or_path}.txt")
    if "/" not in name_or_path and packaged.is_file():
        text = packaged.read_text("utf-8")
    else:
        with open(name_or_path, encoding="utf-8") as fh:
            text = fh.read()
    return tuple(_parse_list(text))


def _parse_list(text: str) -> Iterable[str]:
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            yield entry


@lru_cache(maxsize=1)
def default_bad_phrases() -> tuple[str, ...]:
    """The packaged bad-phrase list (reconstructed from VLRM Table 6), without the year pattern."""
    return load_word_list("bad_phrases")


@lru_cache(maxsize=1)
def default_repeat_exempt() -> frozenset[str]:
    """Words never penalised as repeats: colors, prepositions and articles (VLRM Section 3.4)."""
    words: set[str] = set()
    for name in ("colors", "prepositions", "articles"):
        words.update(w.lower() for w in load_word_list(name))
    return frozenset(words)


def _phrase_regex(phrase: str) -> str:
    """Regex for one phrase: case folded by the caller, whole words at word-character edges."""
    parts = [re.escape(p) for p in phrase.split()]
    body = r"\s+".join(parts)
    if phrase[0].isalnum() or phrase[0] == "_":
        body = r"(?<!\w)" + body
    if phrase[-1].isalnum() or phrase[-1] == "_":
        body = body + r"(?!\w)"
    return body


@lru_cache(maxsize=64)
def compile_phrases(phrases: tuple[str, ...], include_years: bool) -> re.Pattern[str] | None:
    """One regex that matches, at every position, the longest listed phrase starting there."""
    alternatives = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    regexes = [_phrase_regex(p) for p in alternatives]
    if include_years:
        regexes.append(r"(?<!\w)" + YEAR_PATTERN + r"(?!\w)")
    if not regexes:
        return None
    # A zero-width lookahead lets matches overlap, so the union of their spans is exact.
    return re.compile("(?=(" + "|".join(f"(?:{r})" for r in regexes) + "))", re.IGNORECASE)


def bad_phrase_spans(text: str, bad_phrases: Sequence[str] | None = None) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of bad phrases in ``text`` (``None``: default list + years).

    >>> bad_phrase_spans("An image of a man in 1993")
    [(0, 11), (21, 25)]
    """
    if bad_phrases is None:
        pattern = compile_phrases(default_bad_phrases(), True)
    else:
        pattern = compile_phrases(tuple(bad_phrases), False)
    if pattern is None:
        return []
    spans: list[tuple[int, int]] = []
    for m in pattern.finditer(text):
        start, end = m.start(1), m.end(1)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def repeated_word_spans(text: str, exempt: Iterable[str] | None = None) -> list[tuple[int, int]]:
    """Spans of words (case-insensitive) that already occurred earlier in ``text``, exempt words aside.

    >>> repeated_word_spans("a green shirt and a green shirt")
    [(26, 31)]
    """
    skip = default_repeat_exempt() if exempt is None else frozenset(w.lower() for w in exempt)
    seen: set[str] = set()
    spans = []
    for m in _WORD.finditer(text):
        word = m.group(0).lower()
        if word in skip:
            continue
        if word in seen:
            spans.append(m.span())
        seen.add(word)
    return spans


def token_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character span of every token piece inside ``"".join(tokens)``."""
    spans, pos = [], 0
    for tok in tokens:
        spans.append((pos, pos + len(tok)))
        pos += len(tok)
    return spans


def flag_tokens(
    tokens: Sequence[str], spans: Sequence[tuple[int, int]], *, ignore_space: bool = True
) -> list[int]:
    """1 for every token whose characters overlap one of ``spans``, else 0.

    With ``ignore_space`` a token's leading/trailing whitespace does not count as overlap.
    """
    flags = []
    for piece, (start, end) in zip(tokens, token_spans(tokens)):
        if ignore_space:
            start += len(piece) - len(piece.lstrip())
            end -= len(piece) - len(piece.rstrip())
        flags.append(int(end > start and any(s < end and e > start for s, e in spans)))
    return flags


def bad_phrase_flags(tokens: Sequence[str], bad_phrases: Sequence[str] | None = None) -> list[int]:
    """VLRM bad(s, t_1..t_n): 1 for every token inside a bad phrase (``None``: default list + years)."""
    return flag_tokens(tokens, bad_phrase_spans("".join(tokens), bad_phrases))


def repeat_flags(tokens: Sequence[str], exempt: Iterable[str] | None = None) -> list[int]:
    """VLRM repeat(s, t_1..t_n): 1 for every token inside a word already seen earlier in the text."""
    return flag_tokens(tokens, repeated_word_spans("".join(tokens), exempt))


def no_eos(ended_with_eos: bool) -> float:
    """VLRM noeos(t_1..t_n): 1.0 when generation did not end with EOS, else 0.0."""
    return 0.0 if ended_with_eos else 1.0


def word_pieces(text: str) -> list[str]:
    """Split a caption into word-level pieces with leading whitespace, for scoring without a tokenizer.

    >>> word_pieces("a man, running")
    ['a', ' man,', ' running']
    """
    return re.findall(r"\s*\S+|\s+$", text)

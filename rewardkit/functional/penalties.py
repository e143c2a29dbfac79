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


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def normalize_phrase(phrase: str) -> str:
    """A phrase as matched: case folded, whitespace runs inside it collapsed to one space."""
    return " ".join(phrase.lower().split())


_SPACE = " "  # trie edge for a run of whitespace between two words of a phrase


@lru_cache(maxsize=4096)
def _same_under_ignorecase(a: str, b: str) -> bool:
    return re.fullmatch(re.escape(a), b, re.IGNORECASE) is not None


class _Node:
    __slots__ = ("children", "end", "end_in_word")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end = False  # a phrase ends here
        self.end_in_word = True  # every phrase ending here ends with a word character

    def child(self, ch: str) -> _Node:
        # Characters that match each other case-insensitively share one edge, so the edges out of
        # a node match disjoint sets of text characters and the matching phrases lie on one path.
        for key, node in self.children.items():
            if key == ch or (key != _SPACE and ch != _SPACE and _same_under_ignorecase(key, ch)):
                return node
        return self.children.setdefault(ch, _Node())

    def insert(self, phrase: str) -> None:
        node = self
        for ch in phrase:
            node = node.child(ch)
        node.end = True
        node.end_in_word = node.end_in_word and _is_word_char(phrase[-1])

    def regex(self, edge=lambda key: r"\s+" if key == _SPACE else re.escape(key)) -> str | None:
        """This node's subtree as a regex (``edge``: each edge's pattern, ``""`` when it cannot match).

        Runs of single-child nodes become one literal, so the recursion goes as deep as the
        branchings on a path, not as long as the phrase. ``None``: nothing below can match.
        """
        alternatives = []
        for key, child in self.children.items():
            parts = [edge(key)]
            while len(child.children) == 1 and not child.end:  # a chain: no branching, no end
                ((key, child),) = child.children.items()
                parts.append(edge(key))
            rest = child.regex(edge)
            if all(parts) and rest is not None:
                alternatives.append("".join(parts) + rest)
        if self.end:  # tried last: a longer phrase through this node wins, as longest-first did
            alternatives.append(r"(?!\w)" if self.end_in_word else "")
        if not alternatives:
            return None
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"


@lru_cache(maxsize=1024)
def _ascii_class(ch: str) -> str:
    """The characters of lower-cased ASCII text that ``ch`` matches case-insensitively, as a regex."""
    if ch == _SPACE:
        return r"\s+"
    matched = [chr(c) for c in range(128) if chr(c) == chr(c).lower() and _same_under_ignorecase(ch, chr(c))]
    if len(matched) <= 1:
        return "".join(re.escape(c) for c in matched)
    return "[" + "".join(re.escape(c) for c in matched) + "]"


class PhraseMatcher:
    """Bad-phrase matching compiled once: :meth:`spans` (character spans) and :meth:`count` (flagged words).

    The phrases go into a trie, written as one regex with a branch per distinct next character,
    so a position costs at most one step per character of the longest phrase whatever the
    list's size: matching is linear in the caption. ASCII captions (most) are lower-cased and
    matched case-sensitively, with a search that jumps between word starts in C; other captions
    use the same trie with ``re.IGNORECASE``. Both give the spans of the former definition (one
    lookahead alternation, longest phrase first, at every character; ``tests/reference.py``).
    """

    def __init__(self, phrases: Sequence[str], include_years: bool) -> None:
        normalized = sorted({normalize_phrase(p) for p in phrases} - {""})
        everything, unguarded = _Node(), _Node()
        for phrase in normalized:
            everything.insert(phrase)
            if not _is_word_char(phrase[0]):
                unguarded.insert(phrase)
        year = r"(?<!\w)" + YEAR_PATTERN + r"(?!\w)" if include_years else None
        self.empty = not normalized and not include_years
        # Not preceded by a word character, every phrase may start at a position; else only those
        # that do not start with one. The year pattern is tried last, as it was.
        branches = [r"(?<!\w)" + everything.regex()] if everything.children else []
        branches += [unguarded.regex()] if unguarded.children else []
        branches += [year] if year else []
        self.pattern = re.compile("|".join(f"(?:{b})" for b in branches) or "(?!)", re.IGNORECASE)
        # the same trie for lower-cased ASCII text, matched case-sensitively
        ascii_all, ascii_unguarded = everything.regex(_ascii_class), unguarded.regex(_ascii_class)
        branches = [r"(?<!\w)" + ascii_all] if ascii_all else []
        branches += [ascii_unguarded] if ascii_unguarded else []
        branches += [year] if year else []
        self.ascii_pattern = re.compile("|".join(f"(?:{b})" for b in branches) or "(?!)")
        # Every phrase starts with a word character: a match starts right after a non-word
        # character (or at 0), which the search finds with its character-set skip in C.
        self.after_boundary = None
        if ascii_unguarded is None:
            body = [ascii_all] if ascii_all else []
            body += [YEAR_PATTERN + r"(?!\w)"] if include_years else []
            if body:
                self.after_boundary = re.compile(r"\W(" + "|".join(f"(?:{b})" for b in body) + ")")

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``[start, end)`` of the phrases in ``text``, overlapping matches merged."""
        if self.empty:
            return []
        spans: list[tuple[int, int]] = []
        if text.isascii():
            after = self.after_boundary
            if after is not None:
                # A leading space stands for the start of the text; offsets shift by one.
                low = " " + text.lower()  # same length and character classes for ASCII
                m = after.search(low)
                while m is not None:
                    start, end = m.span(1)
                    _merge(spans, start - 1, end - 1)
                    m = after.search(low, start)
                return spans
            text, search = text.lower(), self.ascii_pattern.search
        else:
            search = self.pattern.search
        m = search(text)
        while m is not None:
            start, end = m.span()
            _merge(spans, start, end)
            m = search(text, start + 1)
        return spans

    def count(self, text: str) -> int:
        """Number of whitespace-separated words that overlap a phrase (the penalty without a tokenizer)."""
        spans = self.spans(text)
        return count_flagged_words(text, spans) if spans else 0


def _merge(spans: list[tuple[int, int]], start: int, end: int) -> None:
    if spans and start <= spans[-1][1]:
        spans[-1] = (spans[-1][0], max(spans[-1][1], end))
    else:
        spans.append((start, end))


_NON_SPACE = re.compile(r"\S+")


def count_flagged_words(text: str, spans: Sequence[tuple[int, int]]) -> int:
    """Number of whitespace-separated words of ``text`` overlapping one of ``spans``.

    ``spans`` are sorted, disjoint and start and end on non-space characters (as the span
    functions give them). Equals ``sum(flag_tokens(word_pieces(text), spans))``: a word piece
    counts by its non-space part.
    """
    count, prev_end = 0, None
    for start, end in spans:
        count += len(_NON_SPACE.findall(text, start, end))
        if prev_end is not None and _NON_SPACE.fullmatch(text, prev_end - 1, start + 1):
            count -= 1  # the previous span ended in the word this one starts in
        prev_end = end
    return count


@lru_cache(maxsize=64)
def compile_phrases(phrases: tuple[str, ...], include_years: bool) -> PhraseMatcher:
    """The :class:`PhraseMatcher` of ``phrases`` (plus the year pattern), cached."""
    return PhraseMatcher(phrases, include_years)


def phrase_matcher(bad_phrases: Sequence[str] | None = None) -> PhraseMatcher:
    """Matcher of ``bad_phrases`` (``None``: the packaged list and the year pattern)."""
    if bad_phrases is None:
        return compile_phrases(default_bad_phrases(), True)
    return compile_phrases(tuple(bad_phrases), False)


def bad_phrase_spans(text: str, bad_phrases: Sequence[str] | None = None) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of bad phrases in ``text`` (``None``: default list + years).

    The union of, at every position, the longest phrase matching there: case-insensitive,
    whitespace inside a phrase matching any run of whitespace, whole words at word-character
    edges. Time is linear in ``len(text)`` (see :class:`PhraseMatcher`).

    >>> bad_phrase_spans("An image of a man in 1993")
    [(0, 11), (21, 25)]
    """
    return phrase_matcher(bad_phrases).spans(text)


def repeated_word_spans(text: str, exempt: Iterable[str] | None = None) -> list[tuple[int, int]]:
    """Spans of words (case-insensitive) that already occurred earlier in ``text``, exempt words aside.

    >>> repeated_word_spans("a green shirt and a green shirt")
    [(26, 31)]
    """
    return _repeated_spans(text, repeat_exempt_set(exempt))


def repeat_exempt_set(exempt: Iterable[str] | None = None) -> frozenset[str]:
    """The exempt words lower-cased (``None``: :func:`default_repeat_exempt`)."""
    return default_repeat_exempt() if exempt is None else frozenset(w.lower() for w in exempt)


def _repeated_spans(text: str, skip: frozenset[str]) -> list[tuple[int, int]]:
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


def repeated_word_count(text: str, exempt: Iterable[str] | None = None) -> int:
    """Number of whitespace-separated words holding a repeated word (the penalty without a tokenizer).

    >>> repeated_word_count("a green shirt and a green shirt.")
    1
    """
    return count_repeated_words(text, repeat_exempt_set(exempt))


def count_repeated_words(text: str, skip: frozenset[str]) -> int:
    """:func:`repeated_word_count` with the exempt words already given by :func:`repeat_exempt_set`."""
    if text.isascii():  # lower() keeps ASCII words whole; no repeat at all is the common case
        words = [w for w in _WORD.findall(text.lower()) if w not in skip]
        if len(set(words)) == len(words):
            return 0
    spans = _repeated_spans(text, skip)
    return count_flagged_words(text, spans) if spans else 0


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

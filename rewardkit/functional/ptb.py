"""Pure-Python PTB tokenization as the COCO caption evaluation does it (Stanford PTBTokenizer 3.4.1).

The COCO toolkit runs ``edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase`` on
every caption, then drops the tokens of ``PUNCTUATIONS``. :func:`ptb_tokenize` reproduces that
output without Java; ``tests/functional/test_ptb.py`` checks it against the Java tokenizer.
Known residual differences are rare constructions (emoticons, URLs, some abbreviations
followed by capitalised words) listed in the test's notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rewardkit.functional.arguments import text_list

PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
"""Tokens the COCO toolkit removes after tokenizing (upper-case brackets only, as it has them)."""

# Abbreviations that keep their period (matched case-insensitively unless noted).
_TITLES = (
    "mr|mrs|ms|miss|drs?|profs?|sens?|reps?|attys?|lt|col|gen|messrs|govs?|adm|rev|maj|sgt|cpl|pvt|capt|"
    "ste?|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det|mt|ft|mme|mmes|mlle|mlles|no|nos|vol|vols|vs|"
    "est|dept|univ|assn|bros|jr|sr|inc|cos?|corp|ltd|plc|etc|esq|blvd|rd"
)
# Those of the titles that can end a sentence: before a capitalised word or at the line's end
# the tokenizer adds a separate "." after them (only when written with a capital letter,
# except the company/suffix ones).
_SENTENCE_FINAL_LOWER = frozenset("jr sr inc co cos corp ltd plc bros".split())
_SENTENCE_FINAL_CAPITAL = frozenset("est etc esq dept univ assn".split())
_MONTHS_DAYS = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|mon|tue|tues|wed|thu|thurs|fri|sat|sun"
_NAMES = re.compile(f"(?:{_TITLES})", re.IGNORECASE)

_CONTRACTION_SUFFIX = re.compile(r"(?i)^(.+?)('s|'re|'ve|'ll|'d|'m|n't)$")
_SPECIAL_SPLITS = {
    "cannot": "can not",
    "gonna": "gon na",
    "gotta": "got ta",
    "wanna": "wan na",
    "lemme": "lem me",
    "gimme": "gim me",
    "'tis": "'t is",
    "'twas": "'t was",
}
_APOS_WORDS = frozenset(["'cause", "'til", "'em", "'n'", "'s", "'re", "'ve", "'ll", "'d", "'m", "n't"])
_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
_UNICODE = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2014": " -- ",
        "\u2013": " -- ",
        "\u2026": "...",
        "\u00a0": " ",
        "\u00bd": "1/2",
        "\u00bc": "1/4",
        "\u00be": "3/4",
    }
)

_TOKEN = re.compile(
    r"""
    (?P<emoticon>(?<!\S)[:;=][-o^']?[()\[\]pPdD3/\\|*oO](?!\S))  # :) ;-( :p
  | (?P<acro>(?:[A-Za-z]\.){2,}(?![A-Za-z]))             # u.s. e.g. a.m.
  | (?P<initial>\b[A-Za-z]\.(?=\s|$))                    # a. (single-letter initial)
  | (?P<abbr>\b[A-Za-z]+\.(?=\s|$|[,"')]))                    # candidate abbreviation (or a word before .,)
  | (?P<number>[$]\d+(?:[.,:/]\d+)*)                  # $3.50
  | (?P<decimal>\.\d+)                                   # .5
  | (?P<word>[\w@#+&']+(?:[-/.&][\w@#+&]+|(?<=\d)[,:]\d+)*[+#]*)  # words, numbers, hyphens, slashes, c++
  | (?P<ellipsis>\.\.\.+)
  | (?P<dashes>--+)
  | (?P<punct>[!?]+|[.,;:%$\-/"()\[\]{}`*=<>|~^\\])
  | (?P<other>\S)
    """,
    re.VERBOSE,
)


def _split_word(tok: str) -> list[str]:
    """Clitics and PTB's special splits of one word-like token."""
    low = tok.lower()
    if low in _SPECIAL_SPLITS:
        return _SPECIAL_SPLITS[low].split()
    if low in _APOS_WORDS:
        return [tok]
    out: list[str] = []
    if tok.startswith("'") and len(tok) > 1 and tok[1].isdigit():
        return [tok]
    if tok.startswith("'") and len(tok) > 1 and tok[1].isalpha():
        out.append("`")
        tok = tok[1:]
    elif tok.startswith("'") and len(tok) > 1:
        out.append("'")
        tok = tok[1:]
    suffix: list[str] = []
    m = _CONTRACTION_SUFFIX.match(tok)
    if m and m.group(1) and not m.group(1).endswith("'"):
        head, clitic = m.group(1), m.group(2)
        if clitic.lower() == "n't":
            tok, suffix = head, [clitic]
        else:
            tok, suffix = head, [clitic]
            m2 = _CONTRACTION_SUFFIX.match(tok)
            if m2 and m2.group(2).lower() == "n't" and m2.group(1):
                tok, suffix = m2.group(1), [m2.group(2), *suffix]
    if tok.lower() in ("ca", "wo") and suffix[:1] and suffix[0].lower() == "n't":
        pass
    if tok.endswith("'") and len(tok) > 1 and "'" not in tok[:-1]:
        base = tok[:-1]
        out.extend([base, "'"])
    elif "'" in tok and not re.fullmatch(r"[A-Za-z]+'[A-Za-z]+", tok):
        parts = [p for p in re.split(r"(')", tok) if p]
        out.extend(parts)
    else:
        out.append(tok)
    return out + suffix


def _tokenize_line(line: str) -> list[str]:
    line = line.translate(_UNICODE)
    matches = list(_TOKEN.finditer(line))
    toks: list[str] = []
    for i, m in enumerate(matches):
        kind, text = m.lastgroup, m.group(0)
        rest = line[m.end() :]
        nxt = rest.lstrip()
        at_end = not nxt
        next_capital = bool(nxt) and nxt[0].isupper()
        if kind == "abbr":
            stem = text[:-1]
            low = stem.lower()
            is_abbr = _NAMES.fullmatch(low) is not None or (
                stem[0].isupper() and re.fullmatch(_MONTHS_DAYS, low) is not None
            )
            if low == "miss":
                is_abbr = stem[0] == "M"
            if rest[:1] == ",":  # "day.," keeps its period
                is_abbr = True
            if low in ("no", "nos"):  # "No. 5" keeps its period; "no." before a word does not
                is_abbr = nxt[:1].isdigit()
            if not is_abbr:
                toks.extend(_split_word(stem) if "'" in stem else [stem])
                toks.append(".")
                continue
            toks.append(text)
            ends = low in _SENTENCE_FINAL_LOWER or (
                stem[0].isupper() and (low in _SENTENCE_FINAL_CAPITAL or re.fullmatch(_MONTHS_DAYS, low))
            )
            if ends and (at_end or next_capital):
                toks.append(".")
            continue
        if kind == "emoticon":
            toks.append("".join(_BRACKETS.get(c, c) for c in text))
            continue
        if kind == "ellipsis":
            toks.append("...")
            continue
        if kind == "acro":
            toks.append(text)
            if (at_end or next_capital) and len(text) <= 6:
                toks.append(".")
            continue
        if kind == "number":
            if text.startswith("$"):
                toks.extend(["$", text[1:]])
            else:
                toks.append(text)
            continue
        if kind == "word":
            if text.endswith(".") and at_end:
                toks.extend([text[:-1], "."])
                continue
            if text.startswith("#") and len(text) > 1 and text[1].isdigit():
                toks.extend(["#", text[1:]])
                continue
            toks.extend(_split_word(text))
            continue
        if kind == "punct" and text == '"':
            prev_space = m.start() == 0 or line[m.start() - 1].isspace() or line[m.start() - 1] in "([{"
            toks.append("``" if prev_space or (rest[:1] and not rest[:1].isspace()) else "''")
            continue
        if kind == "punct" and text in _BRACKETS:
            toks.append(_BRACKETS[text])
            continue
        if kind == "dashes":
            toks.append("--")
            continue
        if kind == "punct" and text == "." and i + 1 < len(matches) and matches[i + 1].group(0) == ".":
            toks.append(".")
            continue
        toks.append(text)
    return toks


# Most COCO captions are plain words, hyphenated words, commas and a final period: for those the
# tokenizer's output (after the toolkit's punctuation removal) is just the lower-cased words.
# (Character classes only: linear time on any input.)
_PLAIN = re.compile(r"[A-Za-z0-9 ,\-\x00]+(?:[.!?][ ]*)?")
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])'s(?![A-Za-z'])")
_NOT_PLAIN = re.compile(r"\d\s*,\s*\d|(?<![A-Za-z0-9])-|-(?![A-Za-z0-9])")


def _plain(text: str) -> str | None:
    """The tokenization of a plain caption, or ``None`` when it needs the full tokenizer."""
    if "'" in text:  # only the clitic 's (split off as a token of its own) stays on the fast path
        text = _POSSESSIVE.sub(" \x00s", text)
    if not _PLAIN.fullmatch(text) or _NOT_PLAIN.search(text):
        return None
    words = text.replace(",", " ").replace(".", " ").replace("!", " ").replace("?", " ").split()
    if any(w.lower() in _SPECIAL_SPLITS for w in words):
        return None  # "cannot" -> "can not", "gonna" -> "gon na"
    if text.rstrip().endswith(".") and words:
        last = words[-1]
        if len(last) == 1 or _NAMES.fullmatch(last) or re.fullmatch(_MONTHS_DAYS, last.lower()):
            return None  # an abbreviation keeps its period
    return " ".join(words).lower().replace("\x00", "'")


def ptb_tokenize(texts: Sequence[str]) -> list[str]:
    """COCO-evaluation tokenization: PTB tokens, lower-cased, COCO's punctuation removed, space-joined.

    >>> ptb_tokenize(["A man's dog doesn't like the cat.", 'Two "big" dogs (brown), running!'])
    ["a man 's dog does n't like the cat", 'two big dogs -lrb- brown -rrb- running']
    """
    texts = text_list(texts, "ptb_tokenize: texts", check_items=False)
    out = []
    for text in texts:
        text = str(text).replace("\n", " ").replace("\r", " ")
        fast = _plain(text)
        if fast is not None:
            out.append(fast)
            continue
        toks = _tokenize_line(text)
        # The toolkit lower-cases inside the tokenizer, so the bracket tokens it removes
        # (upper-case in its list) survive as "-lrb-" and "-rrb-".
        out.append(" ".join(t.lower() for t in toks if t.lower() not in PUNCTUATIONS))
    return out

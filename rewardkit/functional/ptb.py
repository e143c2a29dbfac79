"""Pure-Python PTB tokenization as the COCO caption evaluation does it (Stanford PTBTokenizer 3.4.1).

The COCO toolkit (pycocoevalcap) writes the captions one per line to a file, runs
``edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase`` on it, splits the output on
``"\\n"`` and drops the tokens of ``PUNCTUATIONS``. :func:`ptb_tokenize` gives the same output
without Java: it is a longest-match lexer over the rules of the tokenizer's JFlex grammar
(``PTBLexer.flex`` of CoreNLP 3.4.1, default options: PTB3 escaping, LaTeX quotes, deletion of
untokenizable characters), run on the same character stream — so, as in Java, a caption's last
token may depend on how the next caption starts (``"... Mo."`` followed by a capitalised caption
adds a sentence-final period). ``tests/functional/test_ptb.py`` checks it against the Java
tokenizer itself on a corpus of hard captions.

Differences from calling pycocoevalcap on raw text, by design: every line separator Python's
``str.splitlines`` knows is read as a space (pycocoevalcap only replaces ``"\\n"``, so a ``"\\r"``
or ``"\\u2028"`` in a caption splits it into two lines there and misaligns every later caption).
Characters beyond the Basic Multilingual Plane (emoji) are read as their two UTF-16 halves, as
Java reads them, and are deleted like any character the grammar has no rule for.

This module stays whole although it passes ~400 lines: it is one lexer — the grammar's macros, its
rule table in the grammar's order, and the longest-match loop that runs it — and the rules only make
sense read beside the macros they use and the loop that breaks their ties; split, a reader would check
each against ``PTBLexer.flex`` across files.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import regex

from rewardkit.functional.arguments import text_list

PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
"""Tokens the COCO toolkit removes after tokenizing (upper-case brackets only, as it has them)."""

LINE_SEPARATORS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every character ``str.splitlines`` splits on: a caption is one line, so each is read as a space."""
_SEPARATORS_TO_SPACE = str.maketrans({c: " " for c in LINE_SEPARATORS})

# --- The grammar's character classes and macros (PTBLexer.flex 3.4.1, in the same order). ---------
# JFlex's %caseless makes literal strings case-insensitive but leaves character classes as written,
# hence the (?i:...) around literals only.
_CLASSES = json.loads((Path(__file__).parents[1] / "data" / "ptb_java_classes.json").read_text("utf-8"))


def _class(ascii_part: str, ranges: list[list[int]]) -> str:
    """A character class body: ASCII as written plus the measured BMP ranges."""
    return ascii_part + "".join(f"\\u{a:04X}-\\u{b:04X}" if a < b else f"\\u{a:04X}" for a, b in ranges)


# [:letter:] and [:digit:] as the Java lexer has them (its tables predate Python's Unicode version; measured
# from the tokenizer by tests/functional/ptb_java.py), and LETTER, which adds marks allowed inside words.
_LETTER_CLS = _class("A-Za-z", _CLASSES["letter"])
_PROPER_LETTER_CLS = _class("A-Za-z", _CLASSES["letter_proper"])
_DIGIT_CLS = _class("0-9", _CLASSES["digit"])
_LETTER = rf"(?:[{_LETTER_CLS}]|&[aeiouAEIOU](?i:acute|grave|uml);)"
_DIGIT = f"[{_DIGIT_CLS}]"
_LD = rf"(?:{_LETTER}|{_DIGIT})"
_PLAIN_LD = f"[{_PROPER_LETTER_CLS}{_DIGIT_CLS}]"  # [:letter:]|[:digit:]
_PROPER_LETTER = f"[{_PROPER_LETTER_CLS}]"
_SPACE = r"[ \t\u00A0\u2000-\u200A\u3000]"
_NEWLINE = r"(?:\r|\r?\n|\u2028|\u2029|\u000B|\u000C|\u0085)"
_SPACENL = rf"(?:{_SPACE}|{_NEWLINE})"
_SGML = (
    r"<(?:[!?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.\-]*(?:[ ]+(?:[A-Za-z][A-Za-z0-9_:.\-]*"
    r"|[A-Za-z][A-Za-z0-9_:.\-]*[ ]*=[ ]*(?:'[^']*'|\"[^\"]*\")))*[ ]*/?|/[A-Za-z][A-Za-z0-9_:.\-]*)[ ]*>"
)
_SENTEND = rf"{_SPACENL}(?:{_SPACENL}|\p{{Lu}}|{_SGML})"
_NUM = rf"(?:{_DIGIT}+|{_DIGIT}*(?:[.:,\u00AD\u066B\u066C]{_DIGIT}+)+)"
_WORD = rf"{_LETTER}{_LD}*(?:[.!?]{_LETTER}{_LD}*)*"
_APOS = r"(?:['\u0092\u2019]|(?i:&apos;))"
_APOSETC = rf"(?:{_APOS}|[`\u0091\u2018\u201B])"
_HYPHEN = r"[\-_\u058A\u2010\u2011]"
_REDAUX = rf"{_APOS}(?:[msdMSD]|(?i:re|ve|ll))"
_SWORD = r"[A-Za-z\u00AD]*[A-MO-Za-mo-z]\u00AD*"
_SREDAUX = rf"(?i:n){_APOSETC}(?i:t)"
_ACRO_SPECIAL = r"(?i:canada|sino|korean|eu|japan|non)-(?i:u\.s)|(?i:u\.s\.-)(?i:u\.k|u\.s\.s\.r)"
_ACRO = rf"(?:[A-Za-z](?:\.[A-Za-z])*|{_ACRO_SPECIAL})"
_ACRO2 = rf"(?:[A-Za-z](?:\.[A-Za-z])+|{_ACRO_SPECIAL})"
_ABMONTH = r"(?i:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
_ABDAYS = r"(?i:mon|tue|tues|wed|thu|thurs|fri)"
_ABSTATE = (
    r"(?:(?i:ala|ariz|calif|colo|conn|ct|dak|fla|ga|ind|kans?|ky|md|mich|minn|mo|mont|neb|nev|okla|penn|tenn"
    r"|va|vt|wisc?|wyo)|A(?i:z|rk)|D(?i:el)|I(?i:ll)|L(?i:a)|M(?i:ass|iss)|O(?i:re)|P(?i:a)|T(?i:ex)|W(?i:ash))"
)
_ABCOMP = r"(?:(?i:inc|cos?|corp|ltd|plc|rt|bancorp|bhd|assn|univ|intl|sys)|(?i:pp?t)[ye](?i:s)?)"
_ABNUM = r"(?i:tel|est|ext|sq)"
_ABPTIT = r"(?i:jr|sr|bros|ed\.d|ph\.d|blvd|rd|esq)"
_ABBREV1 = rf"(?:{_ABMONTH}|{_ABDAYS}|{_ABSTATE}|{_ABCOMP}|{_ABNUM}|{_ABPTIT}|(?i:etc|al|seq|bldg))\."
_ABTITLE = (
    r"(?:(?i:mr|mrs|ms)|M(?i:iss)|(?i:drs?|profs?|sens?|reps?|attys?|lt|col|gen|messrs|govs?|adm|rev|maj|sgt"
    r"|cpl|pvt|capt|ste?|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det|mt|ft|adj|adv|asst|assoc|ens|insp"
    r"|mlle|mme|msgr|sfc))"
)
_ABCOMP2 = r"(?:(?i:invt|elec|natl|dept)|(?i:m)[ft](?i:g))"
_ABBREV4 = rf"(?:{_ABTITLE}|(?i:vs|alex|wm|jos|cie|a\.k\.a|cf|treas|ph)|{_ACRO}|{_ABCOMP2})"
_ABBREV3 = r"(?i:ca|figs?|prop|nos?|art|bldg|pp|op)\."
_THING_PART = rf"(?:[dDoOlL]{_APOSETC}{_PLAIN_LD})?{_PLAIN_LD}+"
_THING = rf"{_THING_PART}(?:{_HYPHEN}{_THING_PART})*"
_THINGA = r"[A-Z]+(?:(?:[+&]|(?i:&amp;))[A-Z]+)+"
_HTHING = rf"[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(?:-(?:[A-Za-z0-9\u00AD]+|{_ACRO2}\.))+"
_INSENTP = r"[,;:\u3001]"
_URL_END = r"[^ \t\n\f\r\"<>|.!?(){},\-]"
# "[...,-_$]" in the grammar is a range from "," to "_": digits, capitals and most ASCII punctuation.
_LIKELYURL = (
    r"(?:(?i:www)\.(?:[^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4}|(?:[^ \t\n\f\r\"`'<>|.!?(){}\x2C-\x5F$]+\.)+"
    rf"(?i:com|net|org|edu))(?:/[^ \t\n\f\r\"<>|()]+{_URL_END})?"
)
_EMAIL_CH = r"[^ \t\n\f\r\"<>|(){}.\u00A0]"
_EMAIL = (
    r"(?:(?i:&lt;)|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00A0{}]*@"
    rf"(?:{_EMAIL_CH}+\.)*{_EMAIL_CH}+(?:(?i:&gt;)|>)?"
)
_PHONE = (
    r"(?:\([0-9]{2,3}\)[ \u00A0]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \u00A0])?[0-9]{2,4}[\- \u00A0])[0-9]{3,4}"
    r"[\- \u00A0]?[0-9]{3,5}|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}"
)
_ASIANSMILEY = (
    r"[\^x=~<>]\.\[\^(?i:x)=~<>\]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)"
    r"|\([\^x=~<>']-[\^x=~<>'`]\)"
)
_MISCSYMBOL = (
    r"[+%&~\^|\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0\u05C3"
    r"\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D"
    r"\u07F6-\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044"
    r"\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20"
    r"\uFF3B-\uFF40\uFF5B-\uFF65]"
)
_SENT_WORDS = (
    "[A](?i:bout|ccording|dditionally|fter|n|s|t)|[A]|[B](?i:ut)|[E](?i:arlier)|[H](?i:e|er|ere|owever)"
    "|[I](?i:f|n|t)|[L](?i:ast)|[M](?i:any|ore|r\\.|s\\.)|[N](?i:ow)|[O](?i:nce|ne|ther|ur)"
    "|[S](?i:he|ince|o|ome|uch)|[T](?i:hat|he|heir|hen|here|hese|hey|his)|[W](?i:e|hen|hile|hat)|[Y](?i:et|ou)"
)

# (pattern of the token, pattern of its trailing context or None, action): the grammar's rules in
# its order. JFlex picks the longest match, counting the trailing context; ties go to the first rule.
_RULE_TABLE: list[tuple[str, str | None, str]] = [
    (r"(?i:c)\+\+", None, "keep"),
    (r"(?i:c|f)#", None, "keep"),
    (r"(?i:cannot)", None, "back3"),
    (r"(?i:'twas)", None, "back3"),
    (r"(?i:'tis)", None, "back2"),
    (r"(?i:gonna|gotta|lemme|gimme|wanna)", None, "back2"),
    (_SGML, None, "nbsp"),
    (r"&(?i:md|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015]", None, "dash"),
    (r"(?i:&amp;)", None, "amp"),
    (r"&(?i:ht|tl|ur|lr|qc|ql|qr|odq|cdq|#[0-9]+);", None, "keep"),
    (_WORD, _REDAUX, "soft"),
    (_SWORD, _SREDAUX, "soft"),
    (_WORD, None, "soft"),
    (
        rf"{_APOS}(?i:n){_APOS}?|[lLdDjJ]{_APOS}|(?i:dunkin){_APOS}|(?i:somethin){_APOS}|(?i:ol){_APOS}"
        rf"|{_APOS}(?i:em)|[A-HJ-XZn]{_APOSETC}{_PROPER_LETTER}{{2,}}|{_APOS}[2-9]0(?i:s)|{_APOS}(?i:till?)"
        rf"|{_PROPER_LETTER}+[aeiouyAEIOUY]{_APOSETC}[aeiouA-Z]{_PROPER_LETTER}*|{_APOS}(?i:cause)"
        rf"|(?i:cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l)|(?i:o){_APOSETC}(?i:o)",
        None,
        "keep",
    ),
    (rf"(?i:y){_APOS}", _PROPER_LETTER, "keep"),
    (rf"(?i:https?)://[^ \t\n\f\r\"<>|(){{}}]+{_URL_END}", None, "keep"),
    (_LIKELYURL, None, "keep"),
    (_EMAIL, None, "keep"),
    (rf"@[a-zA-Z_][a-zA-Z_0-9]*|#{_LETTER}+", None, "keep"),
    (_REDAUX, r"[^A-Za-z]", "right_quote"),
    (_SREDAUX, r"[^A-Za-z]", "right_quote"),
    (rf"{_DIGIT}{{1,2}}[\-/]{_DIGIT}{{1,2}}[\-/]{_DIGIT}{{2,4}}", None, "keep"),
    (rf"[\-+]?{_NUM}", None, "soft"),
    (
        r"[\u207A\u207B\u208A\u208B]?(?:[\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)",
        None,
        "keep",
    ),
    (rf"(?:{_DIGIT}{{1,4}}[\- \u00A0])?{_DIGIT}{{1,4}}(?:\\?/|\u2044){_DIGIT}{{1,4}}", None, "nbsp"),
    (r"[\u00BC\u00BD\u00BE\u2153-\u215E]", None, "fraction"),
    (
        rf"-(?i:rrb|lrb|rcb|lcb|rsb|lsb)-|(?i:c\.d\.s|pro-|anti-)|(?i:s)(?:&|(?i:&amp;))(?i:p-500|ls)"
        rf"|(?i:cap){_APOS}(?i:n)|(?i:c){_APOS}(?i:est)",
        None,
        "amp",
    ),
    (r"[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}", None, "keep"),
    (r"[A-Z]*\$|#", None, "keep"),
    (
        r"[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]",
        None,
        "currency",
    ),
    (rf"{_ACRO}\.", rf"{_SPACENL}+(?:{_SENT_WORDS}|{_SGML}){_SPACENL}", "acronym_end"),
    (_ABBREV3, rf"{_SPACENL}?{_DIGIT}", "keep"),
    (r"(?:(?i:pt)[eyEY]|(?i:co))\.", rf"{_SPACE}(?i:ltd|lim)", "keep"),
    (_ABBREV1, _SENTEND, "abbrev_end"),
    (_ABBREV1, r"[\s\S][\s\S]", "keep"),
    (_ABBREV1, None, "abbrev_end"),
    (rf"{_ABBREV4}\.", None, "keep"),
    (_ABBREV4, _SPACE, "keep"),
    (_ACRO, _SPACENL, "keep"),
    (rf"{_APOS}[0-9][0-9]", _SPACENL, "keep"),
    (
        rf"{_LD}+(?:\.{_LD}+)*\.(?i:bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html"
        r"|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip)",
        rf"{_SPACENL}|[.?!,]",
        "keep",
    ),
    (rf"{_WORD}\.", _INSENTP, "soft"),
    (_PHONE, None, "phone"),
    (r"\"|(?i:&quot;)", r"[A-Za-z0-9$]", "left_quote"),
    (r"\"|(?i:&quot;)", None, "right_quote"),
    (r"\x7f", None, "skip"),
    (r"<|(?i:&lt;)", None, "lt"),
    (r">|(?i:&gt;)", None, "gt"),
    (r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]", r"[^A-Za-z0-9]", "parens"),
    (_ASIANSMILEY, None, "parens"),
    (r"\{", None, "-LCB-"),
    (r"\}", None, "-RCB-"),
    (r"\[", None, "-LSB-"),
    (r"\]", None, "-RSB-"),
    (r"\(", None, "-LRB-"),
    (r"\)", None, "-RRB-"),
    (r"-+", None, "hyphens"),
    (r"\.{3,5}|(?:\.[ \u00A0]){2,4}\.|[\u0085\u2026]", None, "..."),
    (r"@+|#+|_+", None, "keep"),
    (r"\*+|(?:\\\*){1,3}", None, "keep"),
    (_INSENTP, None, "keep"),
    (r"[?!]+", None, "keep"),
    (r"[.\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]", None, "keep"),
    (r"=", None, "keep"),
    (r"/", None, "keep"),
    (rf"{_HTHING}\.", _INSENTP, "soft"),
    (_HTHING, None, "soft"),
    (rf"{_THING}\.", _INSENTP, "keep"),
    (_THING, None, "keep"),
    (rf"{_THINGA}\.", _INSENTP, "amp"),
    (_THINGA, None, "amp"),
    (r"'", r"[A-Za-z][^ \t\n\r\u00A0]", "left_quote"),
    (_REDAUX, None, "right_quote"),
    (_SREDAUX, None, "right_quote"),
    (
        rf"{_APOS}|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F\u2039\u203A"
        r"\u00AB\u00BB]{1,2}",
        None,
        "right_quote",
    ),
    (r"<<|>>", None, "keep"),
    (_MISCSYMBOL, None, "keep"),
    (rf"\x00|{_SPACE}+|[\u200B\u200E\u200F\uFEFF]", None, "skip"),
    (_NEWLINE, None, "newline"),
    (r"(?i:&nbsp;)", None, "skip"),
    (r"[^\n]", None, "skip"),  # untokenizable: deleted (the tokenizer's default, "firstDelete")
]


def _caseless(pattern: str) -> str:
    """``(?i:...)`` groups spelled out as ``[aA]`` classes (the regex module can miss matches when a
    scoped case-insensitive group starts an alternative, e.g. ``(?:(?i:www)\\.x|...)``)."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        if pattern.startswith("(?i:", i) and depth == 0:
            out.append("(?:")
            depth, i = 1, i + 4
            continue
        c = pattern[i]
        if depth and c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if depth and c == "[":  # a class inside stays as written
            j = pattern.index("]", i + 2)
            out.append(pattern[i : j + 1])
            i = j + 1
            continue
        if depth and c == "(":
            depth += 1
        elif depth and c == ")":
            depth -= 1
        out.append(f"[{c.lower()}{c.upper()}]" if depth and c.isalpha() else c)
        i += 1
    return "".join(out)


def _compile(token: str, context: str | None) -> tuple[regex.Pattern, regex.Pattern]:
    """The rule as a quick first-match test and as the POSIX (leftmost-longest) match JFlex makes."""
    pattern = _caseless(f"(?P<t>{token})" + (f"(?:{context})" if context else ""))
    return regex.compile(pattern, regex.VERSION0), regex.compile(pattern, regex.POSIX | regex.VERSION0)


_STARTING: dict[str, tuple] = {}


@functools.cache
def _rules() -> list[tuple[regex.Pattern, regex.Pattern, str]]:
    """The compiled rules (compiled on first use: a second or so, paid only by captions off the fast path)."""
    return [(*_compile(tok, ctx), action) for tok, ctx, action in _RULE_TABLE]


def _rules_starting(char: str) -> tuple:
    """The rules that can match text beginning with ``char`` (a partial match of that one character)."""
    rules = _STARTING.get(char)
    if rules is None:
        rules = tuple(r for r in _rules() if r[0].fullmatch(char, partial=True) is not None)
        if len(_STARTING) < 65536:
            _STARTING[char] = rules
    return rules


_FRACTIONS = {"\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2153": "1/3", "\u2154": "2/3"}
_CURRENCY = {"\u00a2": "cents", "\u00a3": "#", "\u0080": "$", "\u00a4": "$", "\u20a0": "$", "\u20ac": "$"}
_AMP = re.compile("&amp;", re.IGNORECASE)
_LEFT_QUOTES = str.maketrans({"'": "`", '"': "``"})
_QUOTE_MARKS = str.maketrans(
    {
        "\u0091": "`", "\u2018": "`", "\u201b": "`", "\u2039": "`",
        "\u0092": "'", "\u2019": "'", "\u203a": "'",
        "\u0093": "``", "\u201c": "``", "\u00ab": "``",
        "\u0094": "''", "\u201d": "''", "\u00bb": "''",
    }
)  # fmt: skip


def _quotes(text: str, left: bool) -> str:
    """The tokenizer's LaTeX quote normalisation of a quote-bearing token."""
    text = regex.sub(r"(?i)&apos;", "'", regex.sub(r"(?i)&quot;", '"', text)) if "&" in text else text
    text = text.translate(_LEFT_QUOTES) if left else text.replace('"', "''")
    return text.translate(_QUOTE_MARKS)


def _soft(text: str) -> str:
    return (text.replace("\u00ad", "") or "-") if "\u00ad" in text else text


def _lex(s: str, end: int) -> list[str]:
    """The tokens of ``s[:end]``; ``s[end:]`` is what follows it in the stream (trailing contexts only)."""
    toks: list[str] = []
    pos = 0
    while pos < end:
        best, best_len, action = None, 0, ""
        for quick, longest, act in _rules_starting(s[pos]):
            if quick.match(s, pos) is None:
                continue
            m = longest.match(s, pos)
            if m is not None and m.end() - pos > best_len:
                best, best_len, action = m, m.end() - pos, act
        assert best is not None  # the last rule matches any character but "\n"
        text = best.group("t")
        nxt = pos + len(text)
        if action == "keep":
            toks.append(text)
        elif action == "soft":
            toks.append(_soft(text))
        elif action == "skip":
            pass
        elif action in ("back2", "back3"):
            nxt = pos + len(text) - int(action[-1])
            toks.append(text[: len(text) - int(action[-1])])
        elif action == "right_quote":
            toks.append(_quotes(text, left=False))
        elif action == "left_quote":
            toks.append(_quotes(text, left=True))
        elif action == "amp":
            toks.append(_AMP.sub("&", text))
        elif action == "nbsp":
            toks.append(text.replace(" ", "\u00a0"))
        elif action == "phone":
            toks.append(text.replace(" ", "\u00a0").replace("(", "-LRB-").replace(")", "-RRB-"))
        elif action == "parens":
            toks.append(text.replace("(", "-LRB-").replace(")", "-RRB-"))
        elif action == "dash":
            toks.append("--")
        elif action == "hyphens":
            toks.append("--" if 3 <= len(text) <= 4 else text)
        elif action == "fraction":
            toks.append(_FRACTIONS.get(text, text))
        elif action == "currency":
            toks.append(_CURRENCY.get(text, text))
        elif action == "lt":
            toks.append("<")
        elif action == "gt":
            toks.append(">")
        elif action == "abbrev_end":  # the abbreviation with its period, then the period again
            toks.append(text)
            nxt -= 1
        elif action == "acronym_end":  # "I." -> "I" "."; "U.S." -> "U.S." "."
            toks.append(text[:-1] if len(text) == 2 else text)
            nxt -= 1
        elif action == "newline":
            raise AssertionError("line separators are spaces by now")
        else:  # a fixed token ("...", "-LRB-", ...)
            toks.append(action)
        pos = nxt
    return toks


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _utf16(text: str) -> str:
    """Characters beyond the BMP as their UTF-16 surrogate halves (what the Java lexer reads)."""
    if _ASTRAL.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _from_utf16(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _finish(toks: list[str]) -> str:
    # As the toolkit: Java lower-cases (Locale.ENGLISH), joins with spaces; pycocoevalcap strips the
    # line, splits on " " and drops the punctuation tokens (upper-case brackets only: "-lrb-" stays).
    line = " ".join(t.lower() for t in toks).rstrip()
    return " ".join(w for w in line.split(" ") if w not in PUNCTUATIONS)


# Most COCO captions are plain words, hyphenated words, commas and a final period: their tokens (after
# the punctuation removal) are the lower-cased words, whatever caption follows. Everything else goes
# through the lexer. (Character classes only: linear time on any input.)
_PLAIN = re.compile(r"[A-Za-z0-9 ,\-\x00]+(?:[.!?][ ]*)?")
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])'s(?=[ ,.!?]|$)")
_BAD_HYPHEN = re.compile(r"(?<![A-Za-z0-9])-|-(?![A-Za-z0-9])|\d-+\d")  # dashes; dates, phone numbers
_BAD_COMMA = re.compile(r",[A-Za-z0-9]|\d\s*,\s*\d")  # "a,b-c" is one token; "1, 000" a number
_BAD_DIGITS = re.compile(r"\d +\d")  # "555 1234": a phone number
_ANY_DIGIT = re.compile(r"\d")
_SPLITS = frozenset("cannot gonna gotta lemme gimme wanna".split())
_ABBREV_END = regex.compile(
    _caseless(rf"(?:{_ABBREV1}|{_ABBREV3}|{_ABBREV4}\.|{_ACRO}\.|(?:(?i:pt)[eyEY]|(?i:co))\.)"),
    regex.VERSION0,
)


@functools.lru_cache(maxsize=65536)
def _is_abbreviation(word_with_period: str) -> bool:
    return _ABBREV_END.fullmatch(word_with_period) is not None


def _plain(text: str) -> str | None:
    """The tokenization of a plain caption, or ``None`` when it needs the lexer."""
    if "\x00" in text:
        return None
    if "'" in text:  # only the clitic 's (split off as a token of its own) stays on the fast path
        text = _POSSESSIVE.sub(" \x00s", text)
    if _PLAIN.fullmatch(text) is None:
        return None
    if "-" in text and _BAD_HYPHEN.search(text) is not None:
        return None
    if "," in text and _BAD_COMMA.search(text) is not None:
        return None
    if _ANY_DIGIT.search(text) is not None and _BAD_DIGITS.search(text) is not None:
        return None
    words = text.lower().replace(",", " ").replace(".", " ").replace("!", " ").replace("?", " ").split()
    if not _SPLITS.isdisjoint(words):
        return None  # "cannot" -> "can not", "gonna" -> "gon na"
    end = text.rstrip()
    if end.endswith(".") and words:
        last = end[:-1].replace(",", " ").rsplit(" ", 1)[-1]
        if last and _is_abbreviation(last + "."):
            return None  # an abbreviation keeps its period, and may be read as ending a sentence
    return " ".join(words).replace("\x00", "'")


def is_empty_caption(text: str) -> bool:
    """Whether a caption has nothing to read: ``""``, or only whitespace and format characters.

    Zero-width spaces and joiners, invisible separators, byte-order marks and other Unicode format
    characters (category Cf) count as nothing, as the tokenizer deletes them. An empty caption is
    still a caption: it is scored (the COCO metrics see a zero-length hypothesis) and counted.

    >>> [is_empty_caption(t) for t in ["", " \\t", "\\u200b\\u2063", "a", "."]]
    [True, True, True, False, False]
    """
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def ptb_tokenize(texts: Iterable[str]) -> list[str]:
    """COCO-evaluation tokenization: PTB tokens, lower-cased, COCO's punctuation removed, space-joined.

    Equal to pycocoevalcap's ``PTBTokenizer().tokenize`` on the same list of captions (in order; each
    caption's line separators read as spaces). A caption of only spaces, zero-width or format
    characters gives ``""``.

    >>> ptb_tokenize(["A man's dog doesn't like the cat.", 'Two "big" dogs (brown), running!'])
    ["a man 's dog does n't like the cat", 'two big dogs -lrb- brown -rrb- running']
    """
    lines = text_list(texts, "ptb_tokenize: texts")
    out = []
    for i, text in enumerate(lines):
        fast = _plain(text)  # (a plain caption has no line separator)
        if fast is not None:
            out.append(fast)
            continue
        text = text.translate(_SEPARATORS_TO_SPACE)
        # The lexer sees what follows this caption in the toolkit's file: a newline and the next one.
        following = "\n" + lines[i + 1].translate(_SEPARATORS_TO_SPACE) if i + 1 < len(lines) else ""
        stream = _utf16(text + following)
        end = len(_utf16(text))
        toks = _lex(stream, end)
        out.append(_from_utf16(_finish(toks)) if len(stream) != len(text + following) else _finish(toks))
    return out

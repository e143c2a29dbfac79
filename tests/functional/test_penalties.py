"""Bad-phrase, repeat and no-EOS flags on decoded token pieces."""

import re

from hypothesis import given
from hypothesis import strategies as st

from rewardkit.functional import (
    bad_phrase_flags,
    bad_phrase_spans,
    default_bad_phrases,
    default_repeat_exempt,
    no_eos,
    repeat_flags,
    repeated_word_spans,
    word_pieces,
)


def test_default_list_has_the_papers_examples():
    phrases = set(default_bad_phrases())
    for p in ["an image of", "a screenshot of", "is talking about", "camera shot", "tv screen"]:
        assert p in phrases
    assert all(p == p.strip() and p for p in phrases)


def test_exempt_words_cover_colors_prepositions_articles():
    exempt = default_repeat_exempt()
    assert {"green", "red", "in", "of", "on", "a", "an", "the"} <= exempt
    assert "shirt" not in exempt and "man" not in exempt


def test_overlapping_phrases_union():
    spans = bad_phrase_spans("a zoomed in view of a cat", ["zoomed in", "a zoomed in view of", "view of a"])
    assert spans == [(0, 21)]


def test_phrase_with_punctuation_edges():
    assert bad_phrase_spans("a dog, image of cat", [", image"]) == [(5, 12)]
    assert bad_phrase_spans("on-cam view", ["on-cam"]) == [(0, 6)]


def test_whitespace_runs_inside_a_phrase_match():
    assert bad_phrase_spans("an  image\tof a cat", ["an image of"]) == [(0, 12)]


def test_year_needs_word_boundaries():
    assert bad_phrase_spans("in 1993, x1993 and 19934") == [(3, 7)]


def test_repeat_is_case_insensitive_and_skips_exempt():
    text = "A Shirt and a shirt on a red red car"
    spans = repeated_word_spans(text)
    assert [text[s:e] for s, e in spans] == ["shirt"]


def test_flags_ignore_leading_space_only_pieces():
    tokens = [" a", " cat", " ", "cat"]
    assert repeat_flags(tokens) == [0, 0, 0, 1]


def test_no_eos():
    assert no_eos(True) == 0.0 and no_eos(False) == 1.0


def test_word_pieces_join_back():
    for text in ["a man, running", "  lead space", "trail space  ", ""]:
        assert "".join(word_pieces(text)) == text


def brute_force_bad_flags(tokens, phrases):
    text = "".join(tokens).lower()
    covered = [False] * len(text)
    for p in phrases:
        words = p.lower().split()
        pattern = r"\s+".join(re.escape(w) for w in words)
        if p[0].isalnum():
            pattern = r"(?<!\w)" + pattern
        if p[-1].isalnum():
            pattern += r"(?!\w)"
        for start in range(len(text)):
            m = re.compile(pattern).match(text, start)
            if m:
                for i in range(m.start(), m.end()):
                    covered[i] = True
    flags, pos = [], 0
    for tok in tokens:
        core_start = pos + len(tok) - len(tok.lstrip())
        core_end = pos + len(tok.rstrip())
        flags.append(int(any(covered[core_start:core_end])))
        pos += len(tok)
    return flags


WORDS = ["an", "image", "of", "a", "tv", "screen", "Image", "cat", "1999", ",", "of,"]
PHRASES = ["an image of", "image of a", "tv screen", "a tv", "screen", "of a cat"]


@given(st.lists(st.sampled_from(WORDS), max_size=12), st.lists(st.sampled_from(PHRASES), max_size=4))
def test_bad_flags_equal_brute_force(words, phrases):
    tokens = [" " + w for w in words]
    assert bad_phrase_flags(tokens, phrases) == brute_force_bad_flags(tokens, phrases)

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


# ---------------------------------------------------------------- the trie matcher equals the former definition

import json  # noqa: E402
import random  # noqa: E402
from pathlib import Path  # noqa: E402

from rewardkit.functional.penalties import (  # noqa: E402
    count_flagged_words,
    phrase_matcher,
    repeated_word_count,
)
from rewardkit.rewards import BadPhrasePenalty, RepeatPenalty  # noqa: E402
from tests.reference import (  # noqa: E402
    old_bad_phrase_spans,
    old_flag_count,
    old_repeated_word_spans,
)

COCO = [
    json.loads(line)["text"]
    for line in (Path(__file__).parent / "data" / "ptb_java_3.4.1.jsonl").read_text("utf-8").splitlines()
]


def _captions_with_phrases(phrases, n, seed):
    """Real captions with listed phrases spliced in: varied case, whitespace runs, punctuation, years."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice(COCO).split()
        for _ in range(rng.randint(0, 2)):
            phrase = rng.choice(phrases)
            phrase = "".join(ch.upper() if rng.random() < 0.3 else ch for ch in phrase)
            phrase = rng.choice([" ", "  ", "\t", "\n "]).join(phrase.split())
            phrase = (
                rng.choice(["", "", "(", '"', "x", "-"]) + phrase + rng.choice(["", "", ".", ",", "s", "'s"])
            )
            words.insert(rng.randint(0, len(words)), phrase)
        if rng.random() < 0.2:
            words.insert(
                rng.randint(0, len(words)), str(rng.randint(1890, 2030)) + rng.choice(["", ".", "s"])
            )
        out.append(rng.choice([" ", " ", "  "]).join(words))
    return out


def test_packaged_list_spans_equal_the_former_definition():
    phrases = default_bad_phrases()
    texts = COCO + _captions_with_phrases(list(phrases), 1500, 0)
    texts += ["Ａn image of a cat", "AN İMAGE OF a ſcreen ſhot", "an image of an image of"]
    assert sum(bool(old_bad_phrase_spans(t, phrases, include_years=True)) for t in texts) > 500
    for text in texts:
        expected = old_bad_phrase_spans(text, phrases, include_years=True)
        assert bad_phrase_spans(text) == expected, text
        assert phrase_matcher().count(text) == old_flag_count(text, expected), text


def _random_list(rng):
    alphabet = "ab-'_1ſsK"
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(8)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 30))]


def test_random_lists_spans_equal_the_former_definition():
    rng = random.Random(1)
    checked = 0
    for _ in range(150):
        phrases = _random_list(rng)
        for text in _captions_with_phrases(phrases, 20, rng.random()):
            expected = old_bad_phrase_spans(text, phrases)
            checked += bool(expected)
            assert bad_phrase_spans(text, phrases) == expected, (text, phrases)
    assert checked > 1000


TRICKY = "aAbB sS-_'1ſKkıİiµμ\u0345ι\u1fbeßéÉ\t\u00a0.,"


@given(
    st.lists(
        st.lists(
            st.text(
                alphabet=TRICKY.replace(" ", "").replace("\t", "").replace("\u00a0", ""),
                min_size=1,
                max_size=4,
            ),
            min_size=1,
            max_size=3,
        ).map(" ".join),
        min_size=1,
        max_size=6,
    ),
    st.text(alphabet=TRICKY, max_size=40),
    st.booleans(),
)
def test_spans_equal_the_former_definition_hypothesis(phrases, text, years):
    text = text + " " + " ".join(phrases).upper() + " 1999"  # make matches likely
    matcher = phrase_matcher(phrases) if not years else None
    expected = old_bad_phrase_spans(text, phrases, include_years=years)
    got = bad_phrase_spans(text, phrases) if not years else _with_years(text, phrases)
    assert got == expected
    if matcher is not None:
        assert matcher.count(text) == old_flag_count(text, expected)


def _with_years(text, phrases):
    from rewardkit.functional.penalties import compile_phrases

    return compile_phrases(tuple(phrases), True).spans(text)


@given(st.text(alphabet="aAbB c.'\u2019İéÉ \t", max_size=40))
def test_repeat_count_equals_the_former_definition(text):
    exempt = ["a", "b"]
    expected = old_flag_count(text, old_repeated_word_spans(text, exempt))
    assert repeated_word_count(text, exempt) == expected
    assert RepeatPenalty(exempt).score([text]) == [float(expected)]
    assert sum(repeat_flags(word_pieces(text), exempt)) == expected


def test_penalty_scores_equal_the_former_word_piece_count():
    phrases = default_bad_phrases()
    texts = _captions_with_phrases(list(phrases), 300, 2)
    bad = BadPhrasePenalty().score(texts)
    rep = RepeatPenalty().score(texts)
    for text, b, r in zip(texts, bad, rep):
        assert b == sum(bad_phrase_flags(word_pieces(text)))
        assert b == old_flag_count(text, old_bad_phrase_spans(text, phrases, include_years=True))
        assert r == old_flag_count(text, old_repeated_word_spans(text, default_repeat_exempt()))


def test_whitespace_inside_a_phrase_is_normalised():
    assert bad_phrase_spans("an image  of x", ["an   image\tof"]) == bad_phrase_spans(
        "an image  of x", ["an image of"]
    )
    assert bad_phrase_spans("an image  of x", ["an image of"]) == [(0, 12)]


def test_count_flagged_words():
    assert count_flagged_words("an image, of cats", [(3, 7)]) == 1
    assert count_flagged_words("an image, of cats", [(0, 12)]) == 3
    assert count_flagged_words("  ", [(0, 2)]) == 0


def test_a_large_list_equals_the_former_definition():
    rng = random.Random(3)
    words = ["".join(rng.choice("abcdefgh") for _ in range(5)) for _ in range(2000)]
    phrases = [" ".join(rng.sample(words, 2)) for _ in range(5000)]
    matcher = phrase_matcher(phrases)
    text = " ".join(rng.choice(words) for _ in range(200))
    assert matcher.spans(text) == old_bad_phrase_spans(text, phrases)


def test_a_very_long_phrase_compiles():
    phrase = " ".join(["word"] * 2000)  # 9,999 characters: the trie regex is not one level per character
    text = "x " + phrase + " y"
    assert bad_phrase_spans(text, [phrase, "word word"]) == [(2, 2 + len(phrase))]

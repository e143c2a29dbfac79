"""ptb_tokenize against the COCO toolkit's Java PTBTokenizer itself (run live: Java is required)."""

import json
import random
from pathlib import Path

import pytest

from rewardkit.errors import RewardkitError
from rewardkit.functional import ptb_tokenize
from tests.functional.ptb_java import have_java, java_ptb, measure_classes

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "ptb_java_3.4.1.jsonl"
HARD = DATA / "ptb_hard_captions.json"
TABLE = Path(__file__).resolve().parents[2] / "rewardkit" / "data" / "ptb_java_classes.json"
ESP = Path(__file__).resolve().parents[3] / "shared" / "data" / "esp" / "dataset_v_0_2.json"


@pytest.fixture(scope="module", autouse=True)
def _java():
    # Not a skip: these tests are the tokenizer's specification, and CI installs a JRE.
    assert have_java(), (
        "the Java PTBTokenizer comparison needs `java` on PATH (apt install default-jre-headless)"
    )


def _assert_same(texts):
    java = java_ptb(texts)
    ours = ptb_tokenize(texts)
    diffs = [(t, j, o) for t, j, o in zip(texts, java, ours) if j != o]
    assert not diffs, f"{len(diffs)} of {len(texts)} differ, e.g. {diffs[:3]}"


def test_issue_cases_match_java():
    cases = [
        "A dog\u200b runs on the beach.",
        "A dog\u2063 runs on the beach.",
        "a dog \U0001f600 smiles \U0001f44d\U0001f3fd",
        "-5 degrees outside",
        "more'n a man",
        "y'all come back",
        "rock'n'roll band",
        "A man from Kansas City, Mo.",
    ]
    _assert_same(cases)
    # Spelled out (from the Java run above) so that the behaviour is readable here.
    assert ptb_tokenize(cases[:1] + cases[3:6]) == [
        "a dog runs on the beach",
        "-5 degrees outside",
        "more 'n a man",
        "y' all come back",
    ]


def test_hard_caption_corpus_matches_java():
    # Contractions, abbreviations followed by every kind of next caption, URLs, e-mail addresses,
    # signed and separated numbers, ellipses, dashes, quotes, brackets, scripts, emoji, empty captions,
    # and every Unicode space, format character and line separator in and around words.
    texts = json.loads(HARD.read_text(encoding="ascii"))
    assert len(texts) > 1500
    _assert_same(texts)


def test_sentence_final_abbreviation_depends_on_the_next_caption_as_in_java():
    texts = [
        "Plan A.",
        "The dog.",
        "Plan A.",
        "the dog.",
        "See no.",
        "3 dogs",
        "See no.",
        "dogs",
        "In Mo.",
        "U.S.",
    ]
    _assert_same(texts)
    assert ptb_tokenize(texts)[::2] == ["plan a", "plan a.", "see no.", "see no", "in mo."]


def test_random_captions_match_java():
    rng = random.Random(0)
    words = (
        "a man woman dog's cat it's don't U.S. St. Mr. Mo. red-and-white 3.5 1,000 $5 -5 +3 (big) \"hi\" "
        "y'all more'n e.g. http://x.org/a a@b.com , . ! ? ; : -- ... \u200b \u2063 \U0001f600 'n'"
    ).split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 14))) for _ in range(400)]
    _assert_same([t[:1].upper() + t[1:] for t in texts])


def test_fast_path_agrees_with_java_on_near_plain_captions():
    # Captions built from what the fast path must hand to the lexer: abbreviations before a final
    # period, clitics before digits or hyphens, digit groups, commas without spaces, PTB's splits.
    toks = (
        "a A I U US dog Dog mo Mo no No co Co inc jr Jr st St etc 12 3 1990s 3rd 5 - -- , . ! ? 's it's "
        "cannot Cannot gonna x-ray 10-year-old a-b-c 1-2 12-34 555 1234 1,000 e i ca fig pp op art al vs "
        "cf ph Ph Ltd ltd pty Pty Mr mr Mrs Dr sept Sept wed Fri mon b52 o'clock dogs' 2x4 ' s"
    ).split()
    rng = random.Random(4)
    texts = []
    for _ in range(3000):
        words = [rng.choice(toks) + rng.choice([" ", " ", "", ", ", "  ", "-", ",", "."]) for _ in range(8)]
        text = "".join(words[: rng.randint(1, 8)]).strip() + rng.choice(["", ".", " .", "!", "?", ". "])
        texts.append(text[:1].upper() + text[1:] if rng.random() < 0.5 else text)
    _assert_same(texts)


def test_recorded_golden_outputs():
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    assert ptb_tokenize([r["text"] for r in rows]) == [r["java"] for r in rows]


def test_character_table_is_the_java_tokenizers():
    shipped = json.loads(TABLE.read_text(encoding="utf-8"))
    assert measure_classes() == shipped


@pytest.mark.slow
def test_every_bmp_character_in_context_matches_java():
    chars = [chr(i) for i in range(1, 0x10000, 3) if not 0xD800 <= i < 0xE000]
    _assert_same([f"a{c}b {c} x{c} {c}1 -{c}" for c in chars])


@pytest.mark.slow
@pytest.mark.skipif(not ESP.exists(), reason="needs the ESP data set in ../shared/data/esp (a local copy)")
def test_agrees_with_java_on_esp_texts():
    data = json.loads(ESP.read_text(encoding="utf-8"))
    texts = [
        v
        for a in data["annotations"]
        for k, v in a.items()
        if k.startswith("caption_") and isinstance(v, str)
    ]
    _assert_same(texts)  # social-media text with URLs, handles and emoji


def test_line_separators_are_spaces_and_invisible_captions_are_empty():
    seps = ["\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    assert ptb_tokenize([f"two{s}lines" for s in seps]) == ["two lines"] * len(seps)
    assert ptb_tokenize(["", " ", "\u200b", "\ufeff\u2063", "\t\u00a0"]) == [""] * 5


def test_clitics_quotes_brackets_and_case():
    assert ptb_tokenize(["Can't stop: the dog's \"ball\" (red)!"]) == [
        "ca n't stop the dog 's ball -lrb- red -rrb-"
    ]
    assert ptb_tokenize(["A MAN.", ""]) == ["a man", ""]


def test_a_string_instead_of_a_list_is_refused():
    with pytest.raises(RewardkitError, match="single str"):
        ptb_tokenize("a dog")
    with pytest.raises(RewardkitError, match=r"texts\[1\]"):
        ptb_tokenize(["a dog", None])
    assert ptb_tokenize(t for t in ["a dog", "a cat"]) == ["a dog", "a cat"]

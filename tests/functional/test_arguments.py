"""Arguments as Python users pass them: lone strings refused, iterators read once, blank captions empty,
``None`` from a component as NaN, and a component's own settings kept inside a composition."""

from __future__ import annotations

import unicodedata

import pytest

from rewardkit.errors import ArgumentError, RewardkitError
from rewardkit.functional import batch_token_returns, ptb_tokenize, token_returns
from rewardkit.functional.arguments import blank_as_empty, blank_characters, is_blank
from rewardkit.presets import build_reward
from rewardkit.rewards import BadPhrasePenalty, ComposedReward, NoEOSPenalty, RepeatPenalty

CAPTIONS = ["an image of a dog and a dog", "a red car", "a cat in 1999"]


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and text
    return text


def _penalties() -> ComposedReward:
    return ComposedReward({"bad": BadPhrasePenalty(), "repeat": RepeatPenalty(), "noeos": NoEOSPenalty()})


@pytest.mark.parametrize(
    "call",
    [
        lambda: BadPhrasePenalty().score("an image of a dog"),
        lambda: RepeatPenalty().score("a dog and a dog"),
        lambda: _penalties().score_components("a dog"),
        lambda: _penalties().score("a dog"),
        lambda: _penalties()(prompts=["x"], completions="a dog"),
        lambda: NoEOSPenalty(eos_token_id=2)(prompts=None, completions="a dog", completion_ids=[[5, 2]]),
        lambda: _penalties()(prompts=None, completions={"role": "assistant", "content": "a dog"}),
        lambda: token_returns(" an image of a cat", sim=1.0),
        lambda: batch_token_returns([" a cat", " a dog"], sim=[1.0, 2.0]),
        lambda: ptb_tokenize("A man riding a horse."),
    ],
    ids=[
        "bad",
        "repeat",
        "components",
        "total",
        "trl",
        "trl-noeos",
        "trl-message",
        "returns",
        "batch",
        "ptb",
    ],
)
def test_a_lone_string_is_refused_in_one_line(call):
    with pytest.raises(ArgumentError) as err:
        call()
    text = _one_line(err)
    assert "single" in text and "list" in text
    assert isinstance(err.value, RewardkitError) and isinstance(err.value, TypeError)


def test_per_caption_columns_refuse_a_lone_string(images):
    with pytest.raises(ArgumentError, match="ended_with_eos"):
        NoEOSPenalty().score(["a"], ended_with_eos="1")
    with pytest.raises(ArgumentError, match=r"references\[1\]"):
        _penalties().score(["a", "b"], references=[["x"], "a cat"])
    with pytest.raises(ArgumentError, match="image"):
        _penalties()(prompts=None, completions=["a dog"], image="dog.png")
    from pathlib import Path

    for single in (Path("dog.png"), images[0]):
        with pytest.raises(ArgumentError, match="images must hold one value per caption, got a single"):
            BadPhrasePenalty().score(["a dog"], images=single)


def test_a_non_string_caption_is_named_by_index():
    with pytest.raises(ArgumentError, match=r"captions\[1\] must be a string, got NoneType"):
        BadPhrasePenalty().score(["a cat", None])


def test_generators_are_read_once():
    reward = _penalties()
    want = reward.score_components(CAPTIONS, ended_with_eos=[True, False, True])
    got = reward.score_components((c for c in CAPTIONS), ended_with_eos=(e for e in [True, False, True]))
    assert got == want
    assert want["bad"] == [3.0, 0.0, 1.0] and want["repeat"] == [1.0, 0.0, 0.0]
    composed = ComposedReward({"noeos": NoEOSPenalty()}, eos_token_id=2)
    ids = [[5, 2], [5, 6], [7, 2]]
    trl = composed(prompts=None, completions=iter(CAPTIONS), completion_ids=(i for i in ids))
    assert trl == [0.0, -1.0, 0.0]
    assert ptb_tokenize(c for c in ["A cat.", "Two dogs!"]) == ["a cat", "two dogs"]
    assert token_returns(
        iter([" an", " image", " of", " a", " cat"]), sim=1.0, bad_phrases=["an image of"]
    ) == [
        -2.0,
        -1.0,
        0.0,
        1.0,
        1.0,
    ]


def test_blank_means_only_whitespace_and_format_characters():
    assert is_blank("") and is_blank(" \t\n") and is_blank("\u200b\u2063\ufeff\u00ad \u2060")
    assert not is_blank("\u200ba") and not is_blank("-")
    assert blank_as_empty(["a cat", "\u200b\u200b", "  ", "\u2063"]) == ["a cat", "", "", ""]
    # the fast set equals the definition over every code point
    chars = set(blank_characters())
    for cp in range(0x110000):
        ch = chr(cp)
        assert (ch in chars) == (ch.isspace() or unicodedata.category(ch) == "Cf"), hex(cp)


def test_a_zero_width_caption_scores_as_the_empty_caption(preset_file, images):
    reward = build_reward(preset_file, device="cpu", only=["itm", "ref", "clipscore"])
    blank = ["\u200b\u200b", "\u2063 \u200b", ""]
    out = reward.score_components(blank, images=[images[0]] * 3)
    for name in ("itm", "ref", "clipscore", "total"):
        assert out[name][0] == pytest.approx(out[name][2], abs=1e-6), name
        assert out[name][1] == pytest.approx(out[name][2], abs=1e-6), name
    # the models themselves do see a zero-width space as text: without the rule it scored otherwise
    itm = next(c.reward for c in reward.components if c.name == "itm")
    raw = itm.backend.itm_logits([images[0]] * 2, ["\u200b\u200b", ""], None).tolist()
    assert raw[0] != pytest.approx(raw[1], abs=1e-6)

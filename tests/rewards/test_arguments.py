"""Arguments as Python users pass them: lone strings refused, iterators read once, blank captions empty,
``None`` from a component as NaN, and a component's own settings kept inside a composition."""

from __future__ import annotations

import math
import unicodedata

import pytest

from rewardkit.errors import ArgumentError, RewardkitError
from rewardkit.functional import batch_token_returns, ptb_tokenize, token_returns
from rewardkit.functional.arguments import blank_as_empty, blank_characters, is_blank
from rewardkit.presets import build_reward
from rewardkit.rewards import BadPhrasePenalty, ComposedReward, NoEOSPenalty, RepeatPenalty, Reward

CAPTIONS = ["an image of a dog and a dog", "a red car", "a cat in 1999"]


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and text
    return text


def _penalties() -> ComposedReward:
    return ComposedReward({"bad": BadPhrasePenalty(), "repeat": RepeatPenalty(), "noeos": NoEOSPenalty()})


# ---------------------------------------------------------------- a lone string where texts are expected


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


# ---------------------------------------------------------------- iterators are read once


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


# ---------------------------------------------------------------- blank captions are the empty caption


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


# ---------------------------------------------------------------- None from a component is NaN


class NotApplicable(Reward):
    """TRL's convention: ``None`` for the rows a reward does not apply to (here: captions without "dog")."""

    name = "dogs"

    def score(self, captions, **inputs):
        return [1.0 if "dog" in c else None for c in captions]


class NeverApplicable(Reward):
    name = "never"

    def score(self, captions, **inputs):
        return None


def test_none_from_a_component_is_nan_skipped_by_total_and_logged_means():
    reward = ComposedReward({"dogs": (NotApplicable(), 2.0), "bad": BadPhrasePenalty()}, name="r")
    out = reward.score_components(CAPTIONS)
    assert out["dogs"][0] == 1.0 and math.isnan(out["dogs"][1]) and math.isnan(out["dogs"][2])
    assert out["total"] == [2.0 - 3.0, -0.0, -1.0]
    logged = {}
    totals = reward(prompts=None, completions=CAPTIONS, log_metric=logged.__setitem__)
    assert totals == out["total"]
    assert logged == {"r/dogs": 1.0, "r/bad": pytest.approx(4.0 / 3.0)}
    only_none = ComposedReward({"never": NeverApplicable(), "dogs": NotApplicable()})
    out = only_none.score_components(CAPTIONS)
    assert all(math.isnan(v) for v in out["never"])
    assert out["total"][0] == 1.0 and math.isnan(out["total"][1])  # all NaN gives NaN, as in TRL


def test_a_component_returning_something_else_is_named():
    class Broken(Reward):
        name = "broken"

        def score(self, captions, **inputs):
            return ["high"] * len(captions)

    with pytest.raises(RewardkitError, match="component 'b' returned str for caption 0"):
        ComposedReward({"b": Broken()}).score(["a"])


# ---------------------------------------------------------------- a component keeps its own settings


def test_a_component_keeps_its_own_eos_id():
    ids = [[7, 8, 5], [7, 8, 9]]
    reward = ComposedReward({"noeos": NoEOSPenalty(eos_token_id=5)})  # the repro
    assert reward(prompts=None, completions=["a b", "a b"], completion_ids=ids) == [0.0, -1.0]
    assert reward.score_components(["a b", "a b"], completion_ids=ids)["noeos"] == [0.0, 1.0]
    # the composition's EOS id is the default, the component's own wins
    mixed = ComposedReward({"own": NoEOSPenalty(eos_token_id=5), "default": NoEOSPenalty()}, eos_token_id=9)
    out = {}
    mixed(prompts=None, completions=["a", "a"], completion_ids=ids, log_metric=out.__setitem__)
    assert out == {"total/own": 0.5, "total/default": 0.5}
    # an explicit ended_with_eos column is every component's, whatever its EOS id
    assert mixed.score_components(["a", "a"], ended_with_eos=[True, False])["default"] == [0.0, 1.0]
    assert mixed(prompts=None, completions=["a", "a"], completion_ids=[[5], [9]]) == [-1.0, -1.0]
    # a generator column serves every setting (each component builds its inputs from it)
    assert mixed(prompts=None, completions=["a", "a"], completion_ids=(i for i in [[5], [9]])) == [-1.0, -1.0]


def test_a_component_keeps_its_own_image_column(preset_file, images):
    built = build_reward(preset_file, device="cpu", only=["clipscore"])
    clip = built.components[0].reward
    want = clip.score(["a red car", "a cat"], images=images[:2])
    clip.image_column = "scene"  # the component's own column
    reward = ComposedReward({"clip": clip, "bad": BadPhrasePenalty()}, image_column="photo")
    totals = reward(prompts=None, completions=["a red car", "a cat"], scene=images[:2], photo=None)
    assert totals == pytest.approx(want)
    clip.image_column = None  # now the composition's column is the default
    totals = reward(prompts=None, completions=["a red car", "a cat"], photo=images[:2])
    assert totals == pytest.approx(want)

"""Rewards called the way TRL's GRPOTrainer calls them: its kwargs, its naming, its logging, its image columns."""

from __future__ import annotations

import math

import pytest

from rewardkit.presets import build_reward
from rewardkit.rewards import BadPhrasePenalty, ComposedReward, NoEOSPenalty, RepeatPenalty, from_preset
from tests.tiny_models import build_bpe_tokenizer, make_images

TOK = build_bpe_tokenizer()


def _trl_kwargs(**columns):
    """What TRL 1.16's ``_calculate_rewards`` adds beside the dataset columns."""
    logged = {}
    kwargs = {
        "trainer_state": object(),
        "log_extra": lambda column, values: None,
        "log_metric": lambda name, value: logged.__setitem__(name, value),
        **columns,
    }
    return kwargs, logged


def test_no_eos_fires_from_completion_ids():
    captions = ["a red car", "a dog near a"]
    ids = [
        TOK("a red car", add_special_tokens=False)["input_ids"] + [TOK.eos_token_id],
        TOK("a dog near a")["input_ids"],
    ]
    kwargs, _ = _trl_kwargs(completion_ids=ids)
    assert NoEOSPenalty(tokenizer=TOK)(prompts=["", ""], completions=captions, **kwargs) == [0.0, 1.0]
    assert NoEOSPenalty(eos_token_id=[TOK.eos_token_id, 999])(
        prompts=None, completions=captions, **kwargs
    ) == [0.0, 1.0]
    with pytest.raises(ValueError, match="no EOS id"):
        NoEOSPenalty()(prompts=None, completions=captions, **kwargs)
    composed = ComposedReward({"noeos": NoEOSPenalty()}, tokenizer=TOK)
    assert composed(prompts=None, completions=captions, **kwargs) == [0.0, -1.0]


def test_conversational_completions_with_parts_score_as_their_text():
    text = "an image of a dog and a dog"
    as_parts = [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "an image of "},
                {"type": "image"},
                {"type": "text", "text": "a dog and a dog"},
            ],
        }
    ]
    as_message = [{"role": "assistant", "content": text}]
    reward = ComposedReward({"bad": BadPhrasePenalty(), "repeat": RepeatPenalty()}, name="pen")
    plain = reward(prompts=None, completions=[text])
    assert (
        reward(prompts=None, completions=[as_parts])
        == plain
        == reward(prompts=None, completions=[as_message])
    )
    assert plain == [-3.0 - 1.0]


def test_name_is_what_trl_logs_and_components_reach_log_metric():
    from trl.trainer.utils import get_callable_name

    a = ComposedReward({"bad": BadPhrasePenalty()}, name="penalties")
    b = ComposedReward({"repeat": RepeatPenalty()}, name="repeats")
    assert get_callable_name(a) == "penalties" and get_callable_name(b) == "repeats"
    assert get_callable_name(BadPhrasePenalty()) == "bad"
    kwargs, logged = _trl_kwargs()
    a(prompts=None, completions=["an image of a cat", "a cat"], **kwargs)
    assert logged == {"penalties/bad": 1.5}


@pytest.fixture(scope="module")
def reward(preset_file):
    built = build_reward(preset_file, only=["itm", "clipscore", "bad", "noeos"], device="cpu")
    return ComposedReward(list(built.components), name="tiny", tokenizer=TOK)


def test_image_columns_as_trl_sends_them(reward, tmp_path):
    images = make_images(3)
    paths = []
    for i, im in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        im.save(paths[-1])
    caps = ["a red car", "a man", "two dogs"]
    ids = [TOK(c, add_special_tokens=False)["input_ids"] + [TOK.eos_token_id] for c in caps]
    direct = reward.score_components(caps, images=images, ended_with_eos=[True] * 3)["total"]
    for columns in (
        {"image": images},
        {"image": [str(p) for p in paths]},
        {"images": [[im] for im in images]},  # TRL's multimodal column: a list of images per row
        {"images": [[p] for p in paths]},
    ):
        kwargs, logged = _trl_kwargs(completion_ids=ids, **columns)
        totals = reward(prompts=[[{"role": "user", "content": "Describe."}]] * 3, completions=caps, **kwargs)
        assert totals == pytest.approx(direct, abs=1e-5)
        assert set(logged) == {"tiny/itm", "tiny/clipscore", "tiny/bad", "tiny/noeos"}
    kwargs, _ = _trl_kwargs(images=[[images[0], images[1]]] + [[im] for im in images[1:]])
    with pytest.raises(ValueError, match=r"images\[0\] holds 2 images"):
        reward(prompts=None, completions=caps, **kwargs)
    kwargs, _ = _trl_kwargs(scene=images)
    totals = ComposedReward(list(reward.components), tokenizer=TOK, image_column="scene")(
        prompts=None, completions=caps, completion_ids=ids, **kwargs
    )
    assert totals == pytest.approx(direct, abs=1e-5)
    grey = [im.convert("L") for im in images]
    kwargs, _ = _trl_kwargs(image=grey)
    assert all(math.isfinite(t) for t in reward(prompts=None, completions=caps, **kwargs))


def test_from_preset_is_one_line(preset_file):
    reward = from_preset(str(preset_file), name="vlrm-tiny", tokenizer=TOK, only=["bad", "noeos"])
    assert reward.__name__ == "vlrm-tiny" and reward.eos == frozenset({TOK.eos_token_id})
    out = reward(prompts=None, completions=["an image of a cat"], completion_ids=[[5, 6]])
    assert out == [-3.0 - 1.0]

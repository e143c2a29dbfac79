"""A step's rollout: the trainer's token rewards are the shared assembly, aligned with the log-probs under a real
BPE tokenizer, with weights, presence and word lists from the preset and config."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rewardkit.errors import RewardkitError
from rewardkit.functional import token_returns
from rewardkit.train.a2c import A2CTrainer
from rewardkit.train.config import load_config
from tests import tiny_models
from tests.reference import prefix_pieces


@pytest.fixture(scope="module")
def bpe_captioner(tmp_path_factory):
    return tiny_models.save_blip2_captioner(tmp_path_factory.mktemp("bpe") / "captioner", tokenizer="bpe")


def _config(tmp_path, base_file, **over):
    cfg = {**json.loads(base_file.read_text()), **over}
    path = tmp_path / f"cfg{len(list(tmp_path.glob('cfg*')))}.json"
    path.write_text(json.dumps(cfg))
    return load_config("toy", path)


def _preset(tmp_path, preset_file, components):
    spec = json.loads(preset_file.read_text())
    spec.update(name="custom", components=components)
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(spec))
    return str(path)


def _rollout(trainer, n=8, seed=0):
    """Captions laid out as ``trainer.sample`` lays them out (BOS, tokens, EOS if it stopped, padding), from
    sampled toy scenes: descriptions (with the bad phrase "an image of" and repeats mixed in), some cut short."""
    import random

    from rewardkit.toy import scenes as sc

    rng = random.Random(seed)
    tok = trainer.tokenizer
    images = trainer.images.batch(0, n)
    texts, ended = [], []
    for _ in range(n):
        words = sc.describe(sc.sample_scene(rng)).split()
        text = " ".join(words[: rng.randint(2, len(words))])
        if rng.random() < 0.4:
            text = "an image of " + text + " " + words[-1]
        texts.append(text)
        ended.append(rng.random() < 0.6)
    rows = [
        [tok.bos_token_id, *tok(t, add_special_tokens=False)["input_ids"], *([tok.eos_token_id] if e else [])]
        for t, e in zip(texts, ended)
    ]
    width = max(map(len, rows)) + 2
    ids = torch.full((n, width), tok.pad_token_id)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    with torch.no_grad():
        embeds = trainer.core.image_embeds(trainer.pixel_values(images))
    returns, comps = trainer.rollout.returns(ids, mask, ended, images)
    return embeds, ids, mask, ended, returns, comps


def test_trainer_returns_line_up_with_log_probs_under_a_bpe_tokenizer(
    bpe_captioner, train_config_file, tmp_path
):
    cfg = _config(tmp_path, train_config_file, policy=str(bpe_captioner), max_new_tokens=12, gamma=0.95)
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda s: None)
    tok = trainer.tokenizer
    torch.manual_seed(0)
    with torch.no_grad():  # the sampler's layout: rows start with BOS, stop after EOS, then padding
        sampled, sampled_mask, sampled_ended = trainer.sample(
            trainer.core.image_embeds(trainer.pixel_values(trainer.images.batch(0, 3))), 2
        )
    for row, m, e in zip(sampled.tolist(), sampled_mask.tolist(), sampled_ended):
        n = sum(m)
        assert (
            row[0] == tok.bos_token_id
            and (row[n - 1] == tok.eos_token_id) == e
            and row[n:] == [tok.pad_token_id] * (len(row) - n)
        )
    embeds, ids, mask, ended, returns, comps = _rollout(trainer, seed=3)
    with torch.no_grad():
        logp, _, _ = trainer.core(embeds, ids, mask)
    assert returns.shape == logp.shape == (ids.shape[0], ids.shape[1] - 1)
    weights = trainer.reward.weights
    checked = 0
    for b in range(ids.shape[0]):
        n = int(mask[b, 1:].sum())
        row = ids[b, 1 : 1 + n].tolist()
        assert ended[b] == (row[-1] == tok.eos_token_id)
        seq = math.fsum(
            w * comps[c][b]
            for c, w in weights.items()
            if c not in ("bad", "repeat", "noeos") and not math.isnan(comps[c][b])
        )
        assert comps["sequence"][b] == pytest.approx(seq, abs=1e-6)
        pieces = prefix_pieces(tok, row)
        expected = token_returns(
            pieces,
            seq,
            ended_with_eos=ended[b],
            gamma=0.95,
            **trainer.rollout.penalty_options,
            weights=trainer.rollout.token_weights,
        )
        assert returns[b, :n].tolist() == pytest.approx(expected, abs=1e-5), b
        assert returns[b, n:].abs().sum() == 0 and torch.isfinite(logp[b, :n]).all()
        checked += 1
    assert checked == ids.shape[0]
    assert any(r < 0 for r in returns.flatten().tolist())  # the bad phrase and repeats were placed


def test_a_preset_without_penalties_trains_with_none(bpe_captioner, train_config_file, preset_file, tmp_path):
    preset = _preset(tmp_path, preset_file, [{"name": "clip", "reward": "clip", "model": "clip"}])  # ESPER
    cfg = _config(tmp_path, train_config_file, policy=str(bpe_captioner), preset=preset, max_new_tokens=6)
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda s: None)
    assert trainer.rollout.token_weights == {"bad": 0.0, "repeat": 0.0, "noeos": 0.0}
    _, ids, mask, ended, returns, comps = _rollout(trainer)
    assert not all(ended)  # some captions are cut, and still no no-EOS penalty, no bad phrase
    for b in range(ids.shape[0]):
        n = int(mask[b, 1:].sum())
        assert returns[b, :n].tolist() == pytest.approx([comps["clip"][b]] * n, abs=1e-6)
    assert set(comps) == {"clip", "total", "sequence", "length"}


def test_penalty_weights_from_preset_and_config_are_honoured(
    bpe_captioner, train_config_file, preset_file, tmp_path
):
    preset = _preset(
        tmp_path,
        preset_file,
        [
            {"name": "itm", "reward": "itm", "model": "itm", "weight": 0.5},
            {"name": "bad", "reward": "bad", "weight": -2.0, "options": {"phrases": ["a", "the"]}},
            {"name": "repeat", "reward": "repeat"},
        ],
    )
    cfg = _config(
        tmp_path, train_config_file, policy=str(bpe_captioner), preset=preset, reward_weights={"repeat": -3.0}
    )
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda s: None)
    assert trainer.rollout.token_weights == {"bad": -2.0, "repeat": -3.0, "noeos": 0.0}
    assert trainer.rollout.penalty_options == {"bad_phrases": ("a", "the"), "repeat_exempt": None}
    _, ids, mask, ended, returns, comps = _rollout(trainer, seed=1)
    tok = trainer.tokenizer
    for b in range(ids.shape[0]):
        n = int(mask[b, 1:].sum())
        row = ids[b, 1 : 1 + n].tolist()
        expected = token_returns(
            prefix_pieces(tok, row),
            0.5 * comps["itm"][b],
            ended_with_eos=ended[b],
            bad_phrases=["a", "the"],
            weights={"bad": -2.0, "repeat": -3.0, "noeos": 0.0},
        )
        assert returns[b, :n].tolist() == pytest.approx(expected, abs=1e-5)
    bad = _config(
        tmp_path, train_config_file, policy=str(bpe_captioner), preset=preset, reward_weights={"itc": 1.0}
    )
    with pytest.raises(RewardkitError, match="has no component 'itc'"):
        A2CTrainer(bad, tmp_path / "run2", log=lambda s: None)


def test_penalty_options_are_read_off_the_built_components():
    from rewardkit.rewards import BadPhrasePenalty, ComposedReward, RepeatPenalty
    from rewardkit.train.rollout import reward_weights, token_penalty_options

    reward = ComposedReward(
        {"bad": BadPhrasePenalty(["an image of"]), "repeat": (RepeatPenalty(["A", "the"]), -0.5)}
    )
    assert token_penalty_options(reward) == {
        "bad_phrases": ("an image of",),
        "repeat_exempt": frozenset({"a", "the"}),
    }
    # a component named "bad" that is not the bad-phrase penalty leaves the packaged list in place
    other = ComposedReward({"bad": RepeatPenalty(), "noeos": BadPhrasePenalty(["x"])})
    assert token_penalty_options(other) == {"bad_phrases": None, "repeat_exempt": None}
    assert reward_weights(reward, {"repeat": -3.0, "noeos": -1.0}, "p") == {
        "bad": -1.0,
        "repeat": -3.0,
        "noeos": -1.0,
    }
    with pytest.raises(RewardkitError, match="preset 'p' has no component 'itm'; it has bad, repeat"):
        reward_weights(reward, {"itm": 1.0}, "p")

"""VLRM Eq. 1 per-token returns: Table 1 as a golden test, then the edge cases."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.functional import (
    batch_token_returns,
    discounted_returns,
    pieces_from_offsets,
    token_returns,
)
from rewardkit.functional.assembly import token_weights
from rewardkit.functional.returns import batch_token_returns_from_ids, completion_spans, token_pieces
from tests.reference import prefix_pieces
from tests.tiny_models import build_bpe_tokenizer

TABLE1_WORDS = "an image of a man in green shirt and green shirt is talking about a car".split()
TABLE1_BAD = ["an image of", "is talking about"]
# R(t_k) - (r0 + r1) for every row of VLRM Table 1.
TABLE1_OFFSETS = [-7, -6, -5, -4, -4, -4, -4, -4, -4, -4, -4, -3, -2, -1, 0, 0]


def table1_tokens():
    return [" " + w for w in TABLE1_WORDS]


@pytest.mark.parametrize("sim,ref", [(0.0, 0.0), (3.148, -2.5), (-1.0, 4.25)])
def test_table1_reproduced_exactly(sim, ref):
    returns = token_returns(table1_tokens(), sim, ref, bad_phrases=TABLE1_BAD)
    assert returns == [sim + ref + off for off in TABLE1_OFFSETS]


def test_table1_with_default_phrase_list_flags_the_same_tokens():
    # The packaged list contains both of Table 1's phrases and nothing else in that caption.
    assert token_returns(table1_tokens(), 1.0, 0.0) == [1.0 + off for off in TABLE1_OFFSETS]


def test_noeos_subtracts_one_everywhere_at_gamma_1():
    with_eos = token_returns(table1_tokens(), 1.0, bad_phrases=TABLE1_BAD)
    without = token_returns(table1_tokens(), 1.0, bad_phrases=TABLE1_BAD, ended_with_eos=False)
    assert [a - b for a, b in zip(with_eos, without)] == [1.0] * len(with_eos)


def test_multi_token_words_are_flagged_on_every_piece():
    tokens = [" an", " im", "age", " of", " a", " sh", "irt", " and", " sh", "irt"]
    returns = token_returns(tokens, 0.0, bad_phrases=["an image of"])
    rewards = [returns[k] - (returns[k + 1] if k + 1 < len(returns) else 0.0) for k in range(len(returns))]
    assert rewards == [-1, -1, -1, -1, 0, 0, 0, 0, -1, -1]


def test_punctuation_and_capitals():
    tokens = [" An", " Image", " of", " a", " dog", ",", " a", " Dog", "."]
    returns = token_returns(tokens, 0.0, bad_phrases=["an image of"])
    rewards = [returns[k] - (returns[k + 1] if k + 1 < len(returns) else 0.0) for k in range(len(returns))]
    # "," and "." lie in no phrase or word; "Dog" repeats "dog" case-insensitively.
    assert rewards == [-1, -1, -1, 0, 0, 0, 0, -1, 0]


def test_phrase_inside_a_longer_word_does_not_match():
    assert token_returns([" cannot", " image", " offset"], 0.0, bad_phrases=["an image of"]) == [0, 0, 0]


def test_bad_and_repeat_on_one_token_counts_two():
    tokens = [" a", " tv", " screen", " near", " a", " tv", " screen"]
    returns = token_returns(tokens, 0.0, bad_phrases=["tv screen"])
    assert returns[-1] == -2.0 and returns[-2] == -4.0
    assert returns[0] == -6.0


def test_gamma_below_one():
    tokens = [" an", " image", " of", " a", " cat"]
    gamma = 0.5
    got = token_returns(tokens, 2.0, 1.0, bad_phrases=["an image of"], gamma=gamma)
    r = [-1.0, -1.0, -1.0, 0.0, 3.0]
    want = [sum(gamma ** (s - k) * r[s] for s in range(k, 5)) for k in range(5)]
    assert got == pytest.approx(want, abs=1e-12)


def test_one_token_caption_gets_the_terminal_reward():
    assert token_returns([" dog"], 1.5, -0.5, ended_with_eos=False) == [0.0]
    assert token_returns([" dog"], 1.5, 0.25) == [1.75]


def test_empty_caption_has_no_returns():
    assert token_returns([], 1.0) == []


def test_empty_phrase_list_means_no_bad_phrases_and_no_years():
    tokens = [" an", " image", " of", " 1993"]
    assert token_returns(tokens, 0.0, bad_phrases=[]) == [0.0] * 4
    default = token_returns(tokens, 0.0)
    assert default == [-4.0, -3.0, -2.0, -1.0]


def test_year_pattern_only_on_four_digit_numbers():
    tokens = [" in", " 1993", " and", " 12345", " and", " 42"]
    returns = token_returns(tokens, 0.0, bad_phrases=None)
    # "and" repeats (not exempt); only "1993" is a year.
    assert returns == [-2.0, -2.0, -1.0, -1.0, -1.0, 0.0]


def test_custom_repeat_exempt_replaces_default():
    tokens = [" red", " car", " red", " car"]
    assert token_returns(tokens, 0.0, bad_phrases=[])[0] == -1.0
    assert token_returns(tokens, 0.0, bad_phrases=[], repeat_exempt=[])[0] == -2.0


def test_batched_returns_equal_the_scalar_function():
    rows = [table1_tokens(), [" a", " dog"], [" an", " image", " of", " 2001"], []]
    sims, refs, eos = [1.0, -0.5, 2.0, 0.3], [-1.0, -2.0, 0.5, 0.0], [True, False, True, True]
    for gamma in (1.0, 0.9):
        ret, mask = batch_token_returns(rows, sims, refs, ended_with_eos=eos, gamma=gamma)
        assert ret.shape == mask.shape == (4, len(rows[0]))
        for b, toks in enumerate(rows):
            want = token_returns(toks, sims[b], refs[b], ended_with_eos=eos[b], gamma=gamma)
            assert mask[b].sum().item() == len(toks)
            assert ret[b, : len(toks)].tolist() == pytest.approx(want, abs=1e-5)
            assert ret[b, len(toks) :].abs().sum().item() == 0.0


def test_batched_length_is_enforced():
    with pytest.raises(ValueError, match="more than length"):
        batch_token_returns([[" a", " b", " c"]], [0.0], length=2)


def test_discounted_returns_tensor_matches_loop():
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(3, 7, generator=g)
    mask = torch.ones(3, 7)
    mask[1, 4:] = 0
    out = discounted_returns(rewards, mask, 0.7)
    for b in range(3):
        n = int(mask[b].sum())
        for k in range(n):
            want = sum(0.7 ** (s - k) * rewards[b, s].item() for s in range(k, n))
            assert math.isclose(out[b, k].item(), want, rel_tol=1e-5, abs_tol=1e-5)
        assert out[b, n:].abs().sum() == 0


def test_pieces_from_offsets_rebuilds_text():
    text = "a man, running"
    offsets = [(0, 1), (2, 5), (5, 6), (7, 14)]
    pieces = pieces_from_offsets(text, offsets)
    assert pieces == ["a ", "man", ", ", "running"]
    assert "".join(pieces) == text


TOK = build_bpe_tokenizer()


EOS, PAD = TOK.eos_token_id, TOK.pad_token_id


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(TOK) - 1), max_size=30))
def test_pieces_join_to_the_full_decode_and_match_prefix_decoding(ids):
    pieces = token_pieces(TOK, ids)
    assert len(pieces) == len(ids)
    full = TOK.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    if "\ufffd" not in full:  # random byte tokens can leave invalid UTF-8, where no split is "right"
        assert "".join(pieces) == full
        assert pieces == prefix_pieces(TOK, ids)


def test_pieces_of_real_captions():
    for text in ["an image of a man in a green shirt", "a café — naïve 🙂 in 2019", "the the the"]:
        ids = TOK(text, add_special_tokens=False)["input_ids"]
        assert "".join(token_pieces(TOK, ids)) == text
        assert token_pieces(TOK, ids) == prefix_pieces(TOK, ids)


def test_pieces_do_linear_work():
    calls = {"tokens": 0}
    real = TOK.decode

    class Counting:
        def decode(self, ids, **kw):
            calls["tokens"] += len(ids)
            return real(ids, **kw)

    ids = TOK(" ".join(["a red car near a tree"] * 40), add_special_tokens=False)["input_ids"]
    token_pieces(Counting(), ids)
    assert calls["tokens"] < 8 * len(ids)  # prefix decoding would touch ~len(ids)^2 / 2 tokens


def test_completion_spans_cut_at_first_eos_and_ignore_padding():
    ids = torch.tensor(
        [[5, 6, EOS, PAD, PAD], [5, 6, 7, PAD, PAD], [5, EOS, 9, EOS, 8], [EOS, PAD, PAD, PAD, PAD]]
    )
    lengths, ended = completion_spans(ids, eos_token_id=EOS, pad_token_id=PAD)
    assert lengths.tolist() == [3, 3, 2, 1] and ended.tolist() == [True, False, True, True]


def _row(text, eos=True, width=None):
    ids = TOK(text, add_special_tokens=False)["input_ids"] + ([EOS] if eos else [])
    width = width or len(ids)
    return ids + [PAD] * (width - len(ids))


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_returns_from_ids_equal_token_returns_row_by_row(gamma):
    texts = [
        ("an image of a man in a green shirt and a green shirt", True),
        ("a red car", False),
        ("the dog", True),
    ]
    width = 20
    ids = torch.tensor([_row(t, e, width) for t, e in texts])
    sim, ref = [3.0, -1.0, 0.5], [-2.0, -0.5, -1.0]
    returns, mask = batch_token_returns_from_ids(
        TOK, ids, sim=torch.tensor(sim), ref=ref, eos_token_id=EOS, pad_token_id=PAD, gamma=gamma
    )
    assert mask.dtype == torch.bool and returns.shape == ids.shape
    for b, (text, ended) in enumerate(texts):
        row = TOK(text, add_special_tokens=False)["input_ids"] + ([EOS] if ended else [])
        pieces = [
            TOK.decode([i], skip_special_tokens=True) for i in row
        ]  # byte-level BPE: each token decodes alone
        expected = token_returns(pieces, sim[b], ref[b], ended_with_eos=ended, gamma=gamma)
        n = len(row)
        assert mask[b].tolist() == [True] * n + [False] * (width - n)
        assert returns[b, :n].tolist() == pytest.approx(expected, abs=1e-5)
        assert returns[b, n:].abs().sum() == 0  # nothing leaks onto padding
    # the terminal reward sits on EOS when the row has one; a cut row carries the no-EOS penalty
    assert returns[1, :3].tolist()[-1] == pytest.approx(-1.0 - 0.5 - 1.0)


def test_returns_from_ids_follow_the_device_of_ids_and_weights():
    ids = torch.tensor([_row("an image of a dog", False, 10)])
    off = token_weights({"itm": 1.0})  # a preset without penalties (e.g. ESPER's CLIP cosine)
    returns, mask = batch_token_returns_from_ids(
        TOK, ids, sim=[2.0], eos_token_id=EOS, pad_token_id=PAD, weights=off
    )
    n = int(mask.sum())
    assert returns[0, :n].tolist() == [2.0] * n  # no bad phrase, no no-EOS penalty
    heavy = {"bad": -2.0, "repeat": 0.0, "noeos": -3.0}
    returns, _ = batch_token_returns_from_ids(
        TOK, ids, sim=[2.0], eos_token_id=EOS, pad_token_id=PAD, weights=heavy
    )
    pieces = [TOK.decode([i]) for i in ids[0, :n].tolist()]
    assert returns[0, :n].tolist() == pytest.approx(
        token_returns(pieces, 2.0, ended_with_eos=False, weights=heavy)
    )
    assert returns.device == ids.device

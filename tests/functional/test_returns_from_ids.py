"""Token returns straight from padded id tensors, linear-time pieces, weights from the preset: against token_returns and the full decode."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.functional import token_returns
from rewardkit.functional.assembly import token_weights, weighted_total
from rewardkit.functional.returns import batch_token_returns_from_ids, completion_spans, token_pieces
from tests.reference import prefix_pieces
from tests.tiny_models import build_bpe_tokenizer

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


def test_weighted_total_is_nan_aware_and_matches_a_hand_sum():
    values = {"itm": [1.0, math.nan, math.nan], "ref": [-2.0, -1.0, math.nan], "bad": [3.0, 0.0, math.nan]}
    totals = weighted_total(values, {"itm": 1.0, "ref": 0.5, "bad": -1.0})
    assert totals[:2] == [1.0 - 1.0 - 3.0, -0.5] and math.isnan(totals[2])

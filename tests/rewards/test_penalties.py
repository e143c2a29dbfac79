"""The penalty rewards (bad phrases, repeats, no EOS) as reward objects."""

import pytest

from rewardkit.rewards import (
    BadPhrasePenalty,
    NoEOSPenalty,
    RepeatPenalty,
)


def test_penalties_count_tokens():
    caps = ["an image of a man in 1993", "a dog and a dog", "a cat"]
    assert BadPhrasePenalty().score(caps) == [4.0, 0.0, 0.0]
    assert RepeatPenalty().score(caps) == [0.0, 1.0, 0.0]
    assert NoEOSPenalty().score(caps, ended_with_eos=[True, False, True]) == [0.0, 1.0, 0.0]
    assert NoEOSPenalty().score(caps) == [0.0, 0.0, 0.0]


def test_phrase_list_from_file(tmp_path):
    path = tmp_path / "phrases.txt"
    path.write_text("# mine\nfurry friend\n", encoding="utf-8")
    assert BadPhrasePenalty(path).score(["a furry friend", "an image of"]) == [2.0, 0.0]


def test_noeos_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 values for 1 captions"):
        NoEOSPenalty().score(["a"], ended_with_eos=[True, False])

"""The duplicate-id sets: the exact KeySet and the Bloom filter against a Python set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit.scoring.keysets import BloomFilter, KeySet
from rewardkit.scoring.row import key_digest


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=300))
def test_keyset_and_bloom_filter_agree_with_a_python_set(keys):
    exact, bloom, seen = KeySet(), BloomFilter(8), set()
    for i, key in enumerate(keys):
        d = key_digest(key)
        first = exact.add(d, i)
        assert (first is not None) == (key in seen)
        if key in seen:
            assert first == keys.index(key)
            assert bloom.add(d)  # never a false "new"
        else:
            bloom.add(d)
        seen.add(key)
    assert len(exact) == len(seen)

"""The service's HTTP layer: the bearer token check."""

from __future__ import annotations


def test_bearer_scheme_is_case_insensitive_and_the_token_exact():
    from rewardkit.serving.http import token_matches

    assert token_matches("Bearer s3cret", "s3cret") and token_matches("bearer s3cret", "s3cret")
    assert token_matches("BEARER  s3cret ", "s3cret")
    assert not token_matches("Bearer s3cre", "s3cret") and not token_matches("Basic s3cret", "s3cret")
    assert not token_matches(None, "s3cret") and not token_matches("", "s3cret")

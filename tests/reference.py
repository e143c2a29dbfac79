"""Reference implementations the tests compare rewardkit with (independent of the code under test)."""

from __future__ import annotations


def prefix_pieces(tokenizer, ids):
    """Token pieces by decoding every growing prefix (quadratic, but obviously right)."""
    pieces, prev = [], ""
    for k in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:k], skip_special_tokens=True, clean_up_tokenization_spaces=False)
        if not text.startswith(prev) or text.endswith("\ufffd"):
            pieces.append("")
            continue
        pieces.append(text[len(prev) :])
        prev = text
    return pieces

"""The shared encoder loop: batch size and order never change an embedding; truncation is one warning."""

import warnings

import torch

from rewardkit.backends.encoder import TruncationWarning
from rewardkit.backends.open_clip import OpenCLIPBackend

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "a small blue circle",
    "a cat",
    "the woman",
]


def test_batch_size_and_order_do_not_change_embeddings(open_clip_dir, images):
    b = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", batch_size=1)
    one = b.encode_texts(CAPTIONS)
    b.batch_size = 64
    many = b.encode_texts(list(reversed(CAPTIONS)))
    torch.testing.assert_close(one, many.flip(0), rtol=1e-5, atol=1e-5)


def test_truncation_is_one_warning_with_a_count(open_clip_dir):
    b = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b.encode_texts(["a red car", "a " * 30, "dog " * 40])
    msgs = [str(w.message) for w in caught if issubclass(w.category, TruncationWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("2 of 3 distinct captions") and "16-token" in msgs[0]

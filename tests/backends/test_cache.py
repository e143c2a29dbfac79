"""The embedding cache: each distinct image encoded once, and embeddings read back from disk."""

import torch

from rewardkit.backends.cache import EmbeddingCache
from rewardkit.backends.open_clip import OpenCLIPBackend


def test_image_encoding_is_deduplicated_and_cached(open_clip_dir, images):
    cache = EmbeddingCache()
    backend = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=cache)
    calls = []
    original = backend._image_features
    backend._image_features = lambda px: calls.append(px.shape[0]) or original(px)
    repeated = [images[0]] * 5 + [images[1]] * 5
    first = backend.encode_images(repeated)
    assert sum(calls) == 2
    again = backend.encode_images(repeated)
    assert sum(calls) == 2  # all hits
    assert torch.equal(first, again)
    assert torch.equal(first[0], first[4]) and not torch.equal(first[0], first[5])


def test_disk_cache_round_trip(open_clip_dir, images, tmp_path):
    b1 = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=EmbeddingCache(tmp_path / "c"))
    e1 = b1.encode_images(images[:3], keys=["k0", "k1", "k2"])
    b2 = OpenCLIPBackend(f"local-dir:{open_clip_dir}", device="cpu", cache=EmbeddingCache(tmp_path / "c"))
    b2._image_features = None  # any encode would fail: everything must come from disk
    torch.testing.assert_close(b2.encode_images(images[:3], keys=["k0", "k1", "k2"]), e1)

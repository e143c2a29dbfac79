"""Toy captions sets: the same rows for the same seed, ids named after the tier."""

from rewardkit.registry import TIERS
from rewardkit.toy.dataset import iter_set, make_set


def test_same_seed_same_rows():
    toy = TIERS.get("toy")
    assert [r for *_, r in iter_set(toy, 5, 7)] == [r for *_, r in iter_set(toy, 5, 7)]


def test_ids_and_images_follow_the_tier(tmp_path):
    for name, size in (("toy", 64), ("toy-hard", 96)):
        tier = TIERS.get(name)
        rows = [r for *_, r in iter_set(tier, 3, 11)]
        assert [r["id"] for r in rows] == [f"{name}-11-{i:05d}" for i in range(3)]
        w = tier.world()
        assert [r["caption"] for r in rows] == [w.full(s) for s in w.distinct_scenes(3, 11)]
        path = make_set(3, 11, tmp_path / name, tier)
        from PIL import Image

        with Image.open(tmp_path / name / rows[2]["image"]) as im:
            assert im.size == (size, size)
        assert path.read_text().count("\n") == 3

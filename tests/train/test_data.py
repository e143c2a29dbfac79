"""Training images: a toy tier's scenes drawn per (step, rank) through the registry, or image files."""

import json
import random

import numpy as np
import pytest
from PIL import Image

from rewardkit.errors import RewardkitError
from rewardkit.train.data import ImageFiles, SceneSampler, image_source


def _pixels(images):
    return [np.asarray(im) for im in images]


def test_a_tier_name_draws_that_tiers_scenes_per_step_and_rank():
    from rewardkit.toy import hard, scenes

    source = image_source("toy", 7)
    assert isinstance(source, SceneSampler) and source.scenes is scenes
    assert image_source("hard", 7).scenes is hard  # tier aliases name the same scenes
    rng = random.Random("7-3-1")  # the stream every release has drawn step 3 of rank 1 from
    expected = [scenes.render(scenes.sample_scene(rng)) for _ in range(3)]
    got = source.batch(3, 3, rank=1)
    assert all(np.array_equal(a, b) for a, b in zip(_pixels(got), _pixels(expected)))
    assert all(np.array_equal(a, b) for a, b in zip(_pixels(source.batch(3, 3, 1)), _pixels(got)))
    other = _pixels(source.batch(3, 3, rank=0)) + _pixels(source.batch(4, 3, rank=1))
    assert not any(np.array_equal(a, _pixels(got)[0]) for a in other)


def _folder(tmp_path, n=3):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    paths = []
    for i in range(n):
        path = folder / ("sub" if i % 2 else "") / f"im{i}.png"
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(path)
        paths.append(path)
    (folder / "notes.txt").write_text("not an image")
    return folder, paths


def test_a_folder_gives_its_images_each_at_most_once_per_step_while_there_are_enough(tmp_path):
    folder, paths = _folder(tmp_path)
    source = image_source(str(folder), 0)
    assert isinstance(source, ImageFiles) and sorted(source.files) == sorted(paths)
    reds = sorted(int(np.asarray(im)[0, 0, 0]) for im in source.batch(0, 3))
    assert reds == [0, 40, 80]
    assert len(source.batch(0, 7)) == 7  # more than there are: drawn with replacement
    a, b = source.batch(5, 2), source.batch(5, 2)
    assert all(np.array_equal(x, y) for x, y in zip(_pixels(a), _pixels(b)))


def test_a_captions_file_gives_the_distinct_images_it_names(tmp_path):
    _, paths = _folder(tmp_path)
    rows = [{"image": str(p), "caption": c} for p in paths[:2] for c in ("one", "two")]
    captions = tmp_path / "caps.jsonl"
    captions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = image_source(str(captions), 0)
    assert [str(f) for f in source.files] == [str(p) for p in paths[:2]]


def test_no_images_is_one_line_naming_the_data(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardkitError, match="no training images found in '.*empty'"):
        image_source(str(tmp_path / "empty"), 0)
    with pytest.raises(RewardkitError, match="no training images found in 'missing-folder'"):
        image_source("missing-folder", 0)

"""The handler without a server: Φ per request and per group, a failing batch, the image loader's confinement."""

from __future__ import annotations

import math

import pytest

from rewardkit.serving.handler import Job, RewardHandler, Rows, score_rows
from rewardkit.serving.images import ImageProblem, request_image


@pytest.fixture(scope="module")
def tiny_reward(preset_file):
    from rewardkit.presets import build_reward

    return build_reward(str(preset_file), device="cpu")


def _rows(images, captions, group=None):
    keys = [f"k{id(im)}" for im in images]
    return Rows(list(captions), list(images), keys, group=group)


def test_phi_is_computed_per_request_never_across_requests(tiny_reward, images):
    a = _rows(images[:3], ["a dog", "two cats", "a red car"])
    b = _rows(images[3:6], ["a tree", "a man on a horse", "the sea"])
    together = score_rows(tiny_reward, [a, b])
    for rows, got in zip((a, b), together):
        alone = tiny_reward.score_components(rows.captions, images=rows.images, image_keys=rows.image_keys)
        assert set(got) == set(alone)
        for name in alone:
            assert got[name] == pytest.approx(alone[name], abs=1e-5, nan_ok=True)
    merged = tiny_reward.score_components(
        a.captions + b.captions, images=a.images + b.images, image_keys=a.image_keys + b.image_keys
    )
    # Φ over six rows differs from Φ over each request's three: batching across requests would show here
    assert together[0]["phi"] != pytest.approx(merged["phi"][:3], abs=1e-5)


def test_phi_per_group_value(tiny_reward, images):
    rows = _rows(images[:4], ["a dog", "two cats", "a red car", "a tree"], group=["x", 1, "x", 1])
    (got,) = score_rows(tiny_reward, [rows])
    for index in ([0, 2], [1, 3]):
        sub = rows.take(index)
        alone = tiny_reward.score_components(sub.captions, images=sub.images, image_keys=sub.image_keys)
        assert [got["phi"][i] for i in index] == pytest.approx(alone["phi"], abs=1e-5)
    single = _rows(images[:1], ["a dog"])
    assert math.isnan(score_rows(tiny_reward, [single])[0]["phi"][0])


def test_a_batch_that_fails_inside_the_models_answers_500_and_the_next_batch_works(tmp_path, images):
    from rewardkit.serving.litserve_runner import RewardLitAPI

    images[0].save(tmp_path / "a.png")
    handler = RewardHandler("toy", image_root=tmp_path, device="cpu")
    api = RewardLitAPI(handler, max_batch_size=4, batch_timeout=0.0)
    api.setup("cpu")
    good = {"captions": ["a red circle."], "images": ["a.png"]}
    jobs = [api.decode_request(good), api.decode_request({"captions": ["x"], "images": ["missing.png"]})]
    real = handler.reward.components[0].reward.score

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    handler.reward.components[0].reward.score = out_of_memory
    try:
        answers = [api.encode_response(o) for o in api.predict(jobs)]
    finally:
        handler.reward.components[0].reward.score = real
    assert [a.status_code for a in answers] == [500, 500]
    assert b"CUDA out of memory" in answers[0].body
    answers = [api.encode_response(o) for o in api.predict(jobs)]
    assert [a.status_code for a in answers] == [200, 400]
    assert isinstance(jobs[0], Job) and jobs[1].error.startswith("images[0]: 'missing.png' not found")


def test_image_paths_stay_under_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 10, 10)).save(root / "sub" / "ok.bin", format="PNG")
    Image.new("RGB", (8, 8), (10, 10, 200)).save(tmp_path / "secret.bin", format="PNG")
    (root / "link.bin").symlink_to(tmp_path / "secret.bin")
    assert request_image("sub/ok.bin", root)[0].getpixel((0, 0)) == (200, 10, 10)
    absolute = str(root / "sub" / "ok.bin")  # absolute, but under the root
    assert request_image(absolute, root)[0].getpixel((0, 0)) == (200, 10, 10)
    for bad in ("../secret.bin", "sub/../../secret.bin", str(tmp_path / "secret.bin"), "link.bin", "sub"):
        with pytest.raises(ImageProblem):
            request_image(bad, root)
    with pytest.raises(ImageProblem, match="data URI"):
        request_image("data:text/plain;base64,eA==", root)

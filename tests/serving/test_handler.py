"""The handler without a server: Φ per request and per group, a failing batch, the image loader's confinement."""

from __future__ import annotations

from rewardkit.serving.handler import Job, RewardHandler


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

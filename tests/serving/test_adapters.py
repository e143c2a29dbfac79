"""Each adapter called in its framework's call shape (remote and in-process), and RemoteReward as TRL calls it."""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
from types import SimpleNamespace

import pytest
from PIL import Image

from tests.serving.conftest import TOKEN, assert_close, in_process, toy_rows


@pytest.fixture(params=["remote", "local"])
def mode(request, server, monkeypatch):
    """Both ways an adapter scores: the running service (RK_REWARD_URL) or the preset in this process."""
    monkeypatch.delenv("RK_REWARD_URL", raising=False)
    monkeypatch.setenv("RK_SERVE_TOKEN", TOKEN)
    monkeypatch.setenv("RK_IMAGE_ROOT", str(server["root"]))
    monkeypatch.setenv("RK_DEVICE", "cpu")
    if request.param == "remote":
        monkeypatch.setenv("RK_REWARD_URL", server["url"])
    return request.param


def test_verl_compute_score_sync_and_async(server, toy_reward, mode):
    from rewardkit.adapters.verl import compute_score, compute_score_async

    r = toy_rows(2)[1]
    kwargs = dict(
        data_source="toy",
        solution_str=r["caption"],
        ground_truth=r["references"],
        extra_info={
            "image": r["image"],
            "ended_with_eos": False,
            "num_turns": None,
            "rollout_reward_scores": {},
        },
        reward_router_address=None,
        reward_model_tokenizer=None,
    )
    got = compute_score(**kwargs)
    want = in_process(toy_reward, [r], server["root"], references=[r["references"]], ended_with_eos=[False])
    assert set(got) == {"score", "itm", "itc", "ref", "bad", "repeat", "noeos"}
    assert_close([got["score"]], want["total"])
    assert got["noeos"] == 1.0
    assert asyncio.run(compute_score_async(**kwargs)) == pytest.approx(got, abs=1e-5)


def test_openrlhf_reward_func(server, toy_reward, mode):
    from rewardkit.adapters.openrlhf import reward_func

    rows = toy_rows(3)
    prompt = "Describe the image: "
    labels = [json.dumps({"image": r["image"], "references": r["references"]}) for r in rows]
    got = reward_func([prompt + r["caption"] for r in rows], [prompt] * 3, labels)
    want = in_process(toy_reward, rows, server["root"], references=[r["references"] for r in rows])
    assert_close(got["rewards"], want["total"])
    assert_close(got["extra_logs"]["ref"], want["ref"])
    assert got["scores"] == got["rewards"]


def test_slime_custom_rm_and_batched(server, toy_reward, mode):
    from rewardkit.adapters.slime import batched_custom_rm, custom_rm

    rows = toy_rows(3)
    with Image.open(server["root"] / rows[0]["image"]) as im:
        picture = im.convert("RGB")
    samples = [
        SimpleNamespace(
            prompt="Describe.",
            response=rows[0]["caption"],
            label=None,
            metadata={},
            multimodal_inputs={"images": [picture]},
        ),
        SimpleNamespace(
            prompt=[{"role": "user", "content": "Describe."}],
            response=rows[1]["caption"],
            label=rows[1]["image"],
            metadata={},
            multimodal_inputs=None,
        ),
        SimpleNamespace(
            prompt="Describe.",
            response=rows[2]["caption"],
            label=None,
            metadata={"image": rows[2]["image"], "references": rows[2]["references"]},
            multimodal_inputs=None,
        ),
    ]
    want = [in_process(toy_reward, [r], server["root"])["total"][0] for r in rows]
    plain = SimpleNamespace(reward_key=None)
    keyed = SimpleNamespace(reward_key="total")
    got = [asyncio.run(custom_rm(plain, s)) for s in samples]
    assert_close(got, want)
    as_dict = asyncio.run(custom_rm(keyed, samples[1]))
    assert set(as_dict) == {"total", "itm", "itc", "ref", "bad", "repeat", "noeos"}
    assert_close([as_dict["total"]], want[1:2])
    assert_close(asyncio.run(batched_custom_rm(plain, samples)), want)


def test_easyr1_batch_compute_score(server, toy_reward, mode):
    from rewardkit.adapters import easyr1

    rows = toy_rows(2)
    inputs = [{"response": r["caption"], "response_length": 12, "ground_truth": r["image"]} for r in rows]
    got = easyr1.compute_score(inputs)
    assert easyr1.REWARD_TYPE == "batch"
    want = in_process(toy_reward, rows, server["root"])
    assert [set(g) for g in got] == [{"overall", "itm", "itc", "ref", "bad", "repeat", "noeos"}] * 2
    assert_close([g["overall"] for g in got], want["total"])
    assert_close([g["itc"] for g in got], want["itc"])


def test_remote_reward_takes_trl_kwargs_and_equals_from_preset(server):
    from rewardkit.client import RemoteReward
    from rewardkit.rewards import from_preset

    rows = toy_rows(4)
    pictures = []
    for r in rows:
        with Image.open(server["root"] / r["image"]) as im:
            pictures.append(im.convert("RGB"))
    kwargs = dict(
        prompts=[[{"role": "user", "content": "Describe."}]] * 4,
        completions=[[{"role": "assistant", "content": r["caption"]}] for r in rows],
        completion_ids=[[5, 6, 2], [5, 6], [7, 2], [8]],
        images=[[p] for p in pictures],
        references=[r["references"] for r in rows],
        trainer_state=None,
    )
    local = from_preset("toy", name="toy", eos_token_id=2, device="cpu")
    remote = RemoteReward(server["url"], name="toy", token=TOKEN, eos_token_id=2)
    logged_local, logged_remote = {}, {}
    want = local(**kwargs, log_metric=lambda k, v: logged_local.__setitem__(k, v))
    got = remote(**kwargs, log_metric=lambda k, v: logged_remote.__setitem__(k, v))
    assert_close(got, want)
    assert set(logged_remote) == set(logged_local) and logged_remote["toy/ref"] == pytest.approx(
        logged_local["toy/ref"], abs=1e-5
    )
    again = pickle.loads(pickle.dumps(remote))
    assert_close(asyncio.run(again.as_async()(**kwargs)), want)
    assert again.__name__ == "toy"


def test_remote_reward_fails_over_and_names_refusals(server):
    from rewardkit.client import RemoteError, RemoteReward

    r = toy_rows(1)[0]
    reward = RemoteReward(f"http://127.0.0.1:9,{server['url']}", token=TOKEN)
    assert len(reward(completions=[r["caption"]], image=[r["image"]])) == 1
    with pytest.raises(RemoteError, match="401"):
        RemoteReward(server["url"], token="wrong")(completions=[r["caption"]], image=[r["image"]])
    with pytest.raises(RemoteError, match=r"images\[0\]"):
        RemoteReward(server["url"], token=TOKEN)(completions=["a"], image=["nope.png"])
    with pytest.raises(RemoteError, match="no reward service answered"):
        RemoteReward("http://127.0.0.1:9")(completions=["a"], image=["x.png"])


def test_a_client_loads_no_model():
    import subprocess

    code = (
        "import sys; from rewardkit.client import RemoteReward; import rewardkit.adapters.verl, "
        "rewardkit.adapters.openrlhf, rewardkit.adapters.slime, rewardkit.adapters.easyr1; "
        "r = RemoteReward('http://127.0.0.1:9', name='x'); r.payload(['a'], {}); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

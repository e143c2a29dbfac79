"""RemoteReward: TRL keyword calls equal from_preset, fail-over, refusals, no model loaded, arguments checked first."""

from __future__ import annotations

import asyncio
import pickle
import sys

import pytest
from PIL import Image

from rewardkit.errors import ArgumentError
from tests.service import TOKEN, assert_close, toy_rows


def test_remote_reward_refuses_a_lone_string_before_any_request():
    from rewardkit.client import RemoteReward

    reward = RemoteReward("http://127.0.0.1:9", name="toy")  # nothing listens: no request may be made
    with pytest.raises(ArgumentError, match="single str"):
        reward(prompts=[""] * 3, completions="abc", image=["a.png"] * 3)


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

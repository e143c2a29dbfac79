"""What a user meets first: option mistakes, a busy port, links given as -o, Python API arguments."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys

import pytest

from rewardkit.errors import ArgumentError


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.parametrize(
    "args,named",
    [
        (["score", "x.jsonl", "--workers", "-1"], "--workers"),
        (["score", "x.jsonl", "--batch-size", "abc"], "--batch-size"),
        (["score", "x.jsonl", "--bogus"], "--bogus"),
        (["nosuch"], "nosuch"),
        (["score"], "captions"),
    ],
)
def test_option_mistakes_are_one_line_and_exit_2(args, named):
    run = _cli(*args)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_serve_refuses_a_busy_port_in_one_line_before_loading():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        if port < 1024:
            pytest.skip("the OS gave a privileged port")
        run = _cli("serve", "--preset", "toy", "--port", str(port))
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "another --port" in lines[0], run.stderr


def test_out_given_as_a_link_to_a_file_beside_it_writes_the_file(tmp_path):
    captions = tmp_path / "c.jsonl"
    captions.write_text(json.dumps({"id": 1, "caption": "an image of a red circle"}) + "\n")
    target = tmp_path / "target.jsonl"
    target.write_text("")
    link = tmp_path / "link.jsonl"
    link.symlink_to("target.jsonl")
    run = _cli("score", str(captions), "--rewards", "bad", "-o", str(link), "--quiet")
    assert run.returncode == 0, run.stderr
    assert link.is_symlink() and json.loads(target.read_text())["id"] == 1


def test_composed_reward_refuses_what_is_not_a_reward_and_weights_that_are_not_finite():
    from rewardkit.rewards import BadPhrasePenalty, ComposedReward

    def plain(prompts=None, completions=None, **kw):
        return [1.0 for _ in completions]

    with pytest.raises(ArgumentError, match="component 'n' must be a rewardkit Reward"):
        ComposedReward({"n": plain})
    with pytest.raises(ArgumentError, match="component 'n' must be a rewardkit Reward"):
        ComposedReward({"n": (plain, 1.0)})
    for weight in (math.nan, math.inf, "x", True):
        with pytest.raises(ArgumentError, match="component 'bad': weight must be a finite number"):
            ComposedReward({"bad": (BadPhrasePenalty(), weight)})
    assert ComposedReward({"bad": (BadPhrasePenalty(), 2)}).weights == {"bad": 2.0}


def test_remote_reward_refuses_a_lone_string_before_any_request():
    from rewardkit.client import RemoteReward

    reward = RemoteReward("http://127.0.0.1:9", name="toy")  # nothing listens: no request may be made
    with pytest.raises(ArgumentError, match="single str"):
        reward(prompts=[""] * 3, completions="abc", image=["a.png"] * 3)


def test_bearer_scheme_is_case_insensitive_and_the_token_exact():
    from rewardkit.serving.http import token_matches

    assert token_matches("Bearer s3cret", "s3cret") and token_matches("bearer s3cret", "s3cret")
    assert token_matches("BEARER  s3cret ", "s3cret")
    assert not token_matches("Bearer s3cre", "s3cret") and not token_matches("Basic s3cret", "s3cret")
    assert not token_matches(None, "s3cret") and not token_matches("", "s3cret")


def test_easyr1_inputs_without_their_keys_are_named():
    from rewardkit.adapters.easyr1 import compute_score
    from rewardkit.errors import RewardkitError

    with pytest.raises(RewardkitError, match=r"reward_inputs\[0\]: missing 'ground_truth'"):
        compute_score([{"response": "a red circle"}])

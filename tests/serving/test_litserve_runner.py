"""``rewardkit serve``: routes, values equal to in-process scoring, concurrency, refusals, shutdown."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service import ROOT, TOKEN, assert_close, call, in_process, start_server, toy_rows


def score_body(rows, **extra):
    return {"captions": [r["caption"] for r in rows], "images": [r["image"] for r in rows], **extra}


def test_health_needs_no_token_and_info_names_the_preset(server):
    assert call(server["url"], "/health", token=None) == (200, {"status": "ok"})
    status, info = call(server["url"], "/v1/info")
    assert status == 200
    assert info["preset"] == "toy" and info["device"] == "cpu" and info["dtype"] == "fp32"
    comps = {c["name"]: c for c in info["components"]}
    assert list(comps) == ["itm", "itc", "ref", "bad", "repeat", "noeos"]
    assert comps["itc"]["weight"] == 30.0 and comps["itm"]["model"]["name"] == "toy-itm"
    from rewardkit import __version__

    assert info["rewardkit"] == __version__


def test_score_equals_in_process(server, toy_reward):
    rows = toy_rows(12)
    refs = [r["references"] for r in rows]
    eos = [i % 3 != 0 for i in range(12)]
    status, got = call(server["url"], "/v1/score", score_body(rows, references=refs, ended_with_eos=eos))
    assert status == 200
    want = in_process(toy_reward, rows, server["root"], references=refs, ended_with_eos=eos)
    assert_close(got["total"], want["total"])
    for name in ("itm", "itc", "ref", "bad", "repeat", "noeos"):
        assert_close(got["components"][name], want[name])
    assert got["components"]["noeos"] == [0.0 if e else 1.0 for e in eos]


def test_data_uri_images_score_as_their_files(server):
    rows = toy_rows(2)
    uris = [
        "data:image/png;base64," + base64.b64encode((server["root"] / r["image"]).read_bytes()).decode()
        for r in rows
    ]
    _, by_path = call(server["url"], "/v1/score", score_body(rows))
    status, by_uri = call(
        server["url"], "/v1/score", {"captions": [r["caption"] for r in rows], "images": uris}
    )
    assert status == 200
    assert_close(by_uri["total"], by_path["total"])


def test_get_reward_openrlhf_shape(server, toy_reward):
    rows = toy_rows(4)
    prompt = "<|user|>Describe the picture.<|assistant|>"
    labels = [
        json.dumps({"image": r["image"], "references": r["references"], "eos": "</s>"})
        if i % 2 == 0
        else json.dumps({"image": r["image"], "ended_with_eos": True})
        for i, r in enumerate(rows)
    ]
    # row 0 ended with the end token, row 2 did not: only row 2 gets the no-EOS penalty
    queries = [prompt + r["caption"] + ("</s>" if i == 0 else "") for i, r in enumerate(rows)]
    status, got = call(
        server["url"], "/get_reward", {"query": queries, "prompts": [prompt] * 4, "labels": labels}
    )
    assert status == 200
    assert set(got) == {"rewards", "scores", "extra_logs"}
    assert got["extra_logs"]["noeos"] == [0.0, 0.0, 1.0, 0.0]
    for i, r in enumerate(rows):
        inputs = {"ended_with_eos": [i != 2], "references": [r["references"] if i % 2 == 0 else []]}
        want = in_process(toy_reward, [r], server["root"], **inputs)
        assert_close([got["rewards"][i]], want["total"])
        assert_close([got["extra_logs"]["itc"][i]], want["itc"])
    assert got["scores"] == got["rewards"]
    status, plain = call(
        server["url"], "/get_reward", {"query": [rows[1]["caption"]], "labels": [rows[1]["image"]]}
    )
    assert status == 200
    assert_close(plain["rewards"], in_process(toy_reward, rows[1:2], server["root"])["total"])


def test_slime_shape(server, toy_reward):
    r = toy_rows(3)[2]
    body = {
        "prompt": [{"role": "user", "content": "Describe."}],
        "response": r["caption"],
        "label": r["image"],
    }
    status, got = call(server["url"], "/slime", body)
    assert status == 200
    want = in_process(toy_reward, [r], server["root"])
    assert set(got) == {"total", "itm", "itc", "ref", "bad", "repeat", "noeos"}
    assert_close([got["total"]], want["total"])
    assert_close([got["ref"]], want["ref"])


def test_sixteen_concurrent_clients_get_their_own_values(server, toy_reward):
    rows = toy_rows(40)
    requests = [[rows[(7 * k + j) % 40] for j in range(1 + k % 8)] for k in range(16)]
    want = [in_process(toy_reward, rs, server["root"])["total"] for rs in requests]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda rs: call(server["url"], "/v1/score", score_body(rs)), requests))
    for (status, got), expected in zip(answers, want):
        assert status == 200
        assert_close(got["total"], expected)


BAD = [
    ("malformed JSON", b'{"captions": [', "body: malformed JSON"),
    ("not an object", json.dumps([1, 2]).encode(), "body: must be a JSON object"),
    (
        "counts differ",
        {"captions": ["a", "b"], "images": ["images/toy-2026-00000.png"]},
        "images: 1 entries for 2",
    ),
    ("missing images", {"captions": ["a"]}, "images: missing"),
    (
        "caption type",
        {"captions": [3], "images": ["images/toy-2026-00000.png"]},
        "captions[0]: must be a string",
    ),
    ("unknown key", {"caption": ["a"], "images": []}, "caption: unknown key"),
    (
        "missing file",
        {"captions": ["a", "b"], "images": ["images/toy-2026-00000.png", "images/nope.png"]},
        "images[1]: 'images/nope.png' not found",
    ),
    ("dot-dot", {"captions": ["a"], "images": ["images/../images/toy-2026-00000.png"]}, "images[0]: path"),
    (
        "absolute outside",
        {"captions": ["a"], "images": ["/etc/hostname"]},
        "images[0]: path '/etc/hostname' is outside",
    ),
    (
        "symlink escape",
        {"captions": ["a"], "images": ["images/escape.png"]},
        "images[0]: path 'images/escape.png' is outside",
    ),
    ("undecodable", {"captions": ["a"], "images": ["images/broken.png"]}, "images[0]: not a readable image"),
    (
        "bad base64",
        {"captions": ["a"], "images": ["data:image/png;base64,@@@"]},
        "images[0]: a data: URI with invalid base64",
    ),
    (
        "eos type",
        {"captions": ["a"], "images": ["images/toy-2026-00000.png"], "ended_with_eos": ["yes"]},
        "ended_with_eos[0]",
    ),
    (
        "references type",
        {"captions": ["a"], "images": ["images/toy-2026-00000.png"], "references": ["x"]},
        "references[0]",
    ),
    (
        "row cap",
        {"captions": ["a"] * 65, "images": ["images/toy-2026-00000.png"] * 65},
        "captions: 65 rows, over the cap of 64",
    ),
]


@pytest.mark.parametrize("case,body,error", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_400_with_one_line_and_the_server_keeps_serving(server, case, body, error):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, got = call(server["url"], "/v1/score", raw=raw)
    assert status == 400, got
    assert set(got) == {"error"} and "\n" not in got["error"]
    assert got["error"].startswith(error), got["error"]
    status, _ = call(server["url"], "/v1/score", score_body(toy_rows(1)))
    assert status == 200


def test_bad_label_is_named_by_its_row(server):
    body = {"query": ["a", "b"], "prompts": ["", ""], "labels": ["images/toy-2026-00000.png", "{not json"]}
    assert call(server["url"], "/get_reward", body) == (400, {"error": "labels[1]: malformed JSON object"})


def test_a_bad_request_does_not_disturb_a_concurrent_batch(server, toy_reward):
    rows = toy_rows(8)
    want = in_process(toy_reward, rows, server["root"])["total"]
    bad = {"captions": ["a"], "images": ["images/broken.png"]}
    with ThreadPoolExecutor(16) as pool:
        futs = [
            pool.submit(call, server["url"], "/v1/score", bad if k % 2 else score_body(rows))
            for k in range(16)
        ]
        answers = [f.result() for f in futs]
    for k, (status, got) in enumerate(answers):
        if k % 2:
            assert status == 400
        else:
            assert status == 200
            assert_close(got["total"], want)


def test_token_is_required_everywhere_but_health(server):
    body = score_body(toy_rows(1))
    for path, payload in (("/v1/score", body), ("/v1/info", None), ("/get_reward", {"query": []})):
        assert call(server["url"], path, payload, token=None)[0] == 401
        assert call(server["url"], path, payload, token="wrong")[0] == 401
    assert call(server["url"], "/v1/score", body, token=TOKEN)[0] == 200


def test_oversized_body_gets_413(server):
    big = {"captions": ["a"], "images": ["data:image/png;base64," + "A" * (1 << 20)]}
    status, got = call(server["url"], "/v1/score", big)
    assert status == 413 and "over the cap" in got["error"]


def test_one_access_log_line_per_request_and_the_startup_line(server):
    call(server["url"], "/v1/score", score_body(toy_rows(3)))
    text = server["log"].read_text()
    assert f"serving preset toy at {server['url']}" in text
    assert '"POST /v1/score" 200 rows=3 ' in text


def test_readme_curl_example_is_true(server):
    """The README's curl request, sent as written (plus the token), answers with the toy values."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## Serving rewards to RL frameworks") :]
    m = re.search(r"curl -s (http://127\.0\.0\.1:8000)(/v1/score) -d '(\{.*?\})'", block, re.S)
    assert m, "the README has no curl example"
    body = json.loads(m.group(3))
    import urllib.request

    # curl -d sends Content-Type: application/x-www-form-urlencoded; the body is still read as JSON
    req = urllib.request.Request(
        server["url"] + m.group(2),
        data=m.group(3).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        status, got = r.status, json.loads(r.read())
    assert status == 200 and len(got["total"]) == len(body["captions"])
    assert all(isinstance(v, float) for v in got["total"])


def test_non_loopback_host_refuses_to_start_without_a_token(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RK_SERVE_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-m", "rewardkit", "serve", "--host", "0.0.0.0", "--port", "8999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2
    assert "token" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests_and_exits_0(image_root, tmp_path):
    proc, url = start_server(image_root, tmp_path / "log.txt", "--batch-timeout-ms", "200")
    rows = toy_rows(40)
    results = []

    def ask():
        results.append(call(url, "/v1/score", score_body(rows)))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    import time

    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    for t in threads:
        t.join(timeout=120)
    assert proc.wait(timeout=120) == 0
    assert [s for s, _ in results] == [200] * 4
    assert "stopped" in (tmp_path / "log.txt").read_text()


def test_a_client_that_disconnects_mid_request_does_not_disturb_the_others(server, toy_reward):
    import socket
    from urllib.parse import urlparse

    rows = toy_rows(8)
    want = in_process(toy_reward, rows, server["root"])["total"]
    body = json.dumps(score_body(rows)).encode()
    host = urlparse(server["url"])

    def hang_up(full: bool) -> None:
        with socket.create_connection((host.hostname, host.port), timeout=30) as s:
            head = (
                f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            s.sendall(head + (body if full else body[: len(body) // 2]))

    with ThreadPoolExecutor(12) as pool:
        good = [pool.submit(call, server["url"], "/v1/score", score_body(rows)) for _ in range(8)]
        gone = [pool.submit(hang_up, k % 2 == 0) for k in range(4)]
        for f in gone:
            f.result()
        for f in good:
            status, got = f.result()
            assert status == 200
            assert_close(got["total"], want)
    assert call(server["url"], "/v1/score", score_body(rows[:1]))[0] == 200

"""Ray Serve runner: ``rewardkit serve --replicas 2`` answers as the LitServe runner does (one Ray start, slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.service import ROOT, TOKEN, assert_close, call, free_port, in_process, toy_rows

pytest.importorskip("ray.serve", reason="Ray Serve is the optional 'ray' extra")


@pytest.mark.slow
def test_two_replicas_answer_with_in_process_values_and_exit_cleanly(image_root, toy_reward, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RK_SERVE_TOKEN": TOKEN, "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    cmd = [
        sys.executable,
        "-m",
        "rewardkit",
        "serve",
        "--preset",
        "toy",
        "--port",
        str(port),
        "--replicas",
        "2",
    ]
    cmd += ["--image-root", str(image_root), "--device", "cpu"]
    log = tmp_path / "ray.log"
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=image_root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while "serving preset toy (Ray Serve)" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        rows = toy_rows(6)
        body = {"captions": [r["caption"] for r in rows], "images": [r["image"] for r in rows]}
        want = in_process(toy_reward, rows, image_root)["total"]
        replicas = set()
        for _ in range(12):
            req = urllib.request.Request(
                url + "/v1/score",
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=120) as r:
                replicas.add(r.headers["x-rewardkit-replica"])
                assert_close(json.loads(r.read())["total"], want)
            if len(replicas) == 2:
                break
        assert len(replicas) == 2
        assert call(url, "/v1/score", {"captions": ["a"], "images": ["../x.png"]})[0] == 400
        assert call(url, "/v1/score", body, token=None)[0] == 401
        assert call(url, "/health", token=None) == (200, {"status": "ok"})
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=180)
    assert code == 0, log.read_text()[-3000:]

"""One ``rewardkit serve --preset toy`` subprocess per test session (token-protected, small caps)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "examples" / "toy"
TOKEN = "test-token-4d1f"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toy_rows(n: int = 40) -> list[dict]:
    return [json.loads(line) for line in (TOY / "captions.jsonl").read_text().splitlines()[:n]]


def call(url: str, path: str, body=None, *, token: str | None = TOKEN, raw: bytes | None = None, method=None):
    """``(status, decoded JSON)`` of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        url + path, data=data, headers=headers, method=method or ("POST" if data else "GET")
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start_server(
    root: Path, log: Path, *extra: str, token: str | None = TOKEN
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("RK_SERVE_TOKEN", None)
    if token:
        env["RK_SERVE_TOKEN"] = token
    cmd = [sys.executable, "-m", "rewardkit", "serve", "--preset", "toy", "--port", str(port)]
    cmd += ["--image-root", str(root), "--device", "cpu", *extra]
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"server did not become healthy: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def image_root(tmp_path_factory):
    """The toy images, a file outside the root and a symlink that escapes it."""
    base = tmp_path_factory.mktemp("serve")
    root = base / "root"
    shutil.copytree(TOY / "images", root / "images")
    outside = base / "outside.png"
    shutil.copy(TOY / "images" / "toy-2026-00000.png", outside)
    (root / "images" / "escape.png").symlink_to(outside)
    (root / "images" / "broken.png").write_bytes(b"not a png at all")
    return root


@pytest.fixture(scope="session")
def server(image_root, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    proc, url = start_server(image_root, log, "--max-request-mb", "1", "--max-rows", "64")
    yield {"url": url, "log": log, "root": image_root, "proc": proc}
    proc.terminate()
    proc.wait(timeout=90)


@pytest.fixture(scope="session")
def toy_reward():
    """The toy preset's reward in this process: the reference values."""
    from rewardkit.presets import build_reward

    return build_reward("toy", device="cpu")


def in_process(reward, rows: list[dict], root: Path, **inputs) -> dict[str, list[float]]:
    """``score_components`` on the rows, images opened from the same files."""
    import hashlib

    from PIL import Image

    images, keys = [], []
    for r in rows:
        data = (root / r["image"]).read_bytes()
        keys.append(hashlib.sha256(data).hexdigest())
        with Image.open(root / r["image"]) as im:
            images.append(im.convert("RGB"))
    return reward.score_components([r["caption"] for r in rows], images=images, image_keys=keys, **inputs)


def assert_close(got: list, want: list, tol: float = 1e-5) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g is not None and abs(g - w) <= tol * max(1.0, abs(w)), (got, want)

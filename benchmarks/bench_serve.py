"""Reward service throughput: ``rewardkit serve`` on loopback vs in-process scoring of the same rows, one run.

  in-process: each request's K rows scored by one ``score_components`` call in this process
              (images opened from the same files, content keys as the server gives them) — what a
              framework calling the reward function in its own process does, request by request.
  server:     ``rewardkit serve --preset toy`` (LitServe, one worker) in a subprocess; C concurrent
              clients (aiohttp, keep-alive) each send R requests of K captions; every answer is
              compared with the in-process values of the same request (mismatch: > 1e-5 relative).
  Ray Serve:  the same load on ``--replicas 2`` started from this process (local Ray), with the seconds
              and memory a local Ray start takes, and which replicas answered.

The in-process and server passes alternate (``--rounds``, medians reported), so that load from
other processes on a shared machine falls on both. Target on the 2-core dev machine, toy preset, C = 16, K = 8: ratio = server / in-process >= 0.8,
0 mismatches, 0 errors. Run: python benchmarks/bench_serve.py [--clients 16 --requests 8 --captions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "examples" / "toy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_requests(n: int, k: int) -> list[dict]:
    """n requests of k toy rows (full and terse captions, images cycling through the 40 toy scenes)."""
    rows = [json.loads(line) for line in (TOY / "captions.jsonl").read_text().splitlines()]
    out = []
    for i in range(n):
        picked = [rows[(i * k + j) % len(rows)] for j in range(k)]
        caps = [r["caption"] if (i + j) % 2 else r["terse"] for j, r in enumerate(picked)]
        out.append({"captions": caps, "images": [r["image"] for r in picked]})
    return out


class InProcess:
    """The preset's reward in this process, scoring one request per ``score_components`` call."""

    def __init__(self, preset: str, batch_size: int) -> None:
        from rewardkit.presets import build_reward

        self.reward = build_reward(preset, device="cpu", batch_size=batch_size)

    def score(self, req: dict) -> list[float]:
        from PIL import Image

        images, keys = [], []
        for path in req["images"]:
            data = (TOY / path).read_bytes()
            keys.append(hashlib.sha256(data).hexdigest())
            with Image.open(TOY / path) as im:
                images.append(im.convert("RGB"))
        return self.reward.score_components(req["captions"], images=images, image_keys=keys)["total"]

    def run(self, requests: list[dict]) -> tuple[list[list[float]], float]:
        """Each request's totals and the captions per second."""
        t0 = time.perf_counter()
        totals = [self.score(req) for req in requests]
        return totals, sum(len(r["captions"]) for r in requests) / (time.perf_counter() - t0)


def tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / (1 << 20)


def wait_healthy(url: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


async def load(url: str, requests: list[dict], want: list[list[float]], clients: int) -> dict:
    """C clients, each sending its share of the requests one after another; latencies, mismatches, errors."""
    import aiohttp

    latencies: list[float] = []
    mismatches = errors = 0
    replicas: set[str] = set()
    shares = [list(range(c, len(requests), clients)) for c in range(clients)]

    async def client(session: aiohttp.ClientSession, share: list[int]) -> None:
        nonlocal mismatches, errors
        for i in share:
            t0 = time.perf_counter()
            try:
                async with session.post(url + "/v1/score", json=requests[i]) as resp:
                    body = await resp.json()
                    if "x-rewardkit-replica" in resp.headers:
                        replicas.add(resp.headers["x-rewardkit-replica"])
                    if resp.status != 200:
                        errors += 1
                        continue
            except Exception:
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            if any(abs(g - w) > 1e-5 * max(1.0, abs(w)) for g, w in zip(body["total"], want[i])):
                mismatches += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session, [i]) for i in range(min(8, len(requests)))))  # warm-up
        latencies.clear()
        mismatches = errors = 0
        replicas.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session, share) for share in shares))
        seconds = time.perf_counter() - t0
    latencies.sort()
    return {
        "seconds": seconds,
        "captions_per_s": sum(len(r["captions"]) for r in requests) / seconds,
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None,
        "mismatches": mismatches,
        "errors": errors,
        "replicas": sorted(replicas),
    }


def run_litserve(
    args: argparse.Namespace, requests: list[dict], want: list[list[float]], local: InProcess
) -> tuple[list[dict], list[float], dict]:
    """Start the server once; then, per round, the in-process pass and the server pass back to back."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "rewardkit", "serve", "--preset", args.preset, "--port", str(port)]
    cmd += ["--image-root", str(TOY), "--device", "cpu", "--max-batch-size", str(args.max_batch_size)]
    cmd += ["--batch-timeout-ms", str(args.batch_timeout_ms), "--batch-size", str(args.batch_size)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    rounds, rates = [], []
    try:
        wait_healthy(url)
        ready = time.perf_counter() - t0
        rss = tree_rss_mb(proc.pid)
        for k in range(args.rounds):
            _, rate = local.run(requests)
            rates.append(rate)
            rounds.append(asyncio.run(load(url, requests, want, args.clients)))
            print(
                f"round {k + 1}: in-process {rate:.1f}, server {rounds[-1]['captions_per_s']:.1f} captions/s"
            )
    finally:
        proc.terminate()
        code = proc.wait(timeout=120)
    return rounds, rates, {"ready_s": round(ready, 1), "rss_mb": round(rss), "exit_code_on_sigterm": code}


def run_ray(args: argparse.Namespace, requests: list[dict], want: list[list[float]]) -> dict:
    import psutil
    import ray
    from ray import serve

    from rewardkit.serving.handler import RewardHandler
    from rewardkit.serving.ray_runner import build_app

    port = free_port()
    base_rss = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    ray_start = time.perf_counter() - t0

    def ray_rss() -> float:
        me = psutil.Process()
        total = me.memory_info().rss - base_rss
        for p in me.children(recursive=True):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / (1 << 20)

    ray_rss_mb = ray_rss()
    handler = RewardHandler(args.preset, image_root=TOY, device="cpu", batch_size=args.batch_size)
    app = build_app(
        handler,
        replicas=args.ray_replicas,
        token=None,
        max_bytes=32 << 20,
        max_batch_size=args.max_batch_size,
        batch_timeout_s=args.batch_timeout_ms / 1000,
    )
    t1 = time.perf_counter()
    serve.run(app, name="rewardkit", route_prefix="/", blocking=False)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    deploy = time.perf_counter() - t1
    try:
        result = asyncio.run(load(url, requests, want, args.clients))
        rss = ray_rss()
    finally:
        serve.shutdown()
        ray.shutdown()
    return {
        **result,
        "replicas_requested": args.ray_replicas,
        "both_replicas_answered": len(result["replicas"]) == args.ray_replicas,
        "ray_start_s": round(ray_start, 1),
        "ray_start_rss_mb": round(ray_rss_mb),
        "deploy_ready_s": round(deploy, 1),
        "rss_mb_with_replicas": round(rss),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="toy")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=8, help="requests per client")
    ap.add_argument("--captions", type=int, default=8, help="captions per request")
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--batch-timeout-ms", type=float, default=5.0)
    ap.add_argument("--batch-size", type=int, default=64, help="the models' batch size (both sides)")
    ap.add_argument("--ray-replicas", type=int, default=2, help="0 skips the Ray Serve run")
    ap.add_argument("--rounds", type=int, default=3, help="in-process and server passes, interleaved")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads in every process (OMP_NUM_THREADS)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve.json")
    args = ap.parse_args()
    # Every side gets the same CPU threads: on a shared 2-core machine two OpenMP threads per process
    # spin against each other (measured: toy in-process 6.8 captions/s with 2 threads, 248 with 1).
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    requests = make_requests(args.clients * args.requests, args.captions)
    local = InProcess(args.preset, args.batch_size)
    for req in requests[:8]:  # warm-up: the same image embeddings cached as the server's warm-up does
        local.score(req)
    want, _ = local.run(requests)
    rounds, rates, lit = run_litserve(args, requests, want, local)
    server_rate = statistics.median(r["captions_per_s"] for r in rounds)
    inproc = statistics.median(rates)
    latencies = [r for r in rounds]
    result = {
        "benchmark": "rewardkit serve vs in-process scoring (loopback)",
        "preset": args.preset,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "captions_per_request": args.captions,
        "max_batch_size": args.max_batch_size,
        "batch_timeout_ms": args.batch_timeout_ms,
        "rounds": args.rounds,
        "server_captions_per_s": round(server_rate, 1),
        "inprocess_captions_per_s": round(inproc, 1),
        "ratio": round(server_rate / inproc, 3),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in latencies), 1),
        "p99_ms": round(max(r["p99_ms"] for r in latencies), 1),
        "mismatches": sum(r["mismatches"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "target": {"ratio": 0.8, "mismatches": 0, "errors": 0},
        "per_round": [
            {
                "inprocess_captions_per_s": round(rate, 1),
                "server_captions_per_s": round(r["captions_per_s"], 1),
                "p50_ms": round(r["p50_ms"], 1),
                "p99_ms": round(r["p99_ms"], 1),
            }
            for rate, r in zip(rates, rounds)
        ],
        "litserve": lit,
    }
    if args.ray_replicas:
        ray_result = run_ray(args, requests, want)
        print(f"ray serve x{args.ray_replicas}: {ray_result['captions_per_s']:.1f} captions/s", flush=True)
        result["ray_serve"] = {
            k: (round(v, 1) if isinstance(v, float) else v) for k, v in ray_result.items() if k != "seconds"
        }
    result["machine"] = {
        "cpus": os.cpu_count(),
        "torch_threads_per_process": args.threads,
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "note": "clients, server and in-process scoring share the same CPUs; numbers are noisy",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

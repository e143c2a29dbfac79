"""The cluster runner: the handler in Ray Serve replicas (``pip install 'rewardkit[ray]'``).

``rewardkit serve --replicas N`` (or ``--ray``) starts a local Ray instance, or joins the cluster
at ``RAY_ADDRESS``, and deploys N replicas; each loads the preset once (one GPU each when the
device is CUDA) and batches concurrent requests with ``@serve.batch``. Routes, refusals and
answers are the LitServe runner's (:class:`~rewardkit.serving.http.ServiceMiddleware` and the
same :class:`~rewardkit.serving.handler.RewardHandler`); each answer names its replica in the
``x-rewardkit-replica`` header.
"""

import os
import signal
import threading
import time
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.serving.handler import Answer, RewardHandler
from rewardkit.serving.http import ROWS_HEADER, ServiceMiddleware, log

REPLICA_HEADER = "x-rewardkit-replica"


def _require() -> Any:
    try:
        from ray import serve
    except ImportError:
        raise RewardkitError(
            "rewardkit serve --replicas/--ray needs Ray Serve: pip install 'rewardkit[ray]'"
        ) from None
    return serve


def build_app(
    handler: RewardHandler,
    *,
    replicas: int,
    token: str | None,
    max_bytes: int,
    max_batch_size: int,
    batch_timeout_s: float,
    gpus_per_replica: float = 0.0,
) -> Any:
    """The Ray Serve application: a FastAPI ingress over the handler, ``replicas`` copies."""
    serve = _require()
    from fastapi import FastAPI, Request
    from starlette.responses import JSONResponse

    app = FastAPI(openapi_url=None)
    app.add_middleware(ServiceMiddleware, token=token, max_bytes=max_bytes)

    @serve.deployment(
        num_replicas=replicas,
        max_ongoing_requests=max(8, 4 * max_batch_size),
        ray_actor_options={"num_gpus": gpus_per_replica, "num_cpus": 0},
    )
    @serve.ingress(app)
    class RewardDeployment:
        def __init__(self, handler: RewardHandler) -> None:
            handler.setup()
            self.handler = handler
            self.replica = str(serve.get_replica_context().replica_tag)
            self.batched.set_max_batch_size(max_batch_size)
            self.batched.set_batch_wait_timeout_s(batch_timeout_s)

        def respond(self, answer: Answer) -> Any:
            headers = {ROWS_HEADER: str(answer.rows), REPLICA_HEADER: self.replica}
            return JSONResponse(answer.body, status_code=answer.status, headers=headers)

        @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
        async def batched(self, jobs: list[Any]) -> list[Answer]:
            try:
                values = self.handler.predict(jobs)
            except (
                Exception
            ) as exc:  # the whole batch failed inside the models: each of its requests gets 500
                return [self.handler.failure(exc)] * len(jobs)
            return [self.handler.encode(j, v) for j, v in zip(jobs, values)]

        async def route(self, route: str, request: Request) -> Any:
            job = self.handler.decode(route, await request.json())
            if job.error is not None:
                return self.respond(self.handler.encode(job, None))
            return self.respond(await self.batched(job))

        @app.get("/health")
        async def health(self) -> Any:
            return JSONResponse({"status": "ok"})

        @app.get("/v1/info")
        async def info(self) -> Any:
            return self.respond(Answer(200, {**self.handler.info(), "replica": self.replica}))

        @app.post("/v1/score")
        async def score(self, request: Request) -> Any:
            return await self.route("score", request)

        @app.post("/get_reward")
        async def get_reward(self, request: Request) -> Any:
            return await self.route("get_reward", request)

        @app.post("/slime")
        async def slime(self, request: Request) -> Any:
            return await self.route("slime", request)

    return RewardDeployment.bind(handler)


def start(handler: RewardHandler, *, host: str, port: int, replicas: int, **options: Any) -> float:
    """Start (or join, with ``RAY_ADDRESS``) Ray and deploy; returns the seconds until the replicas answered."""
    serve = _require()
    import ray

    t0 = time.perf_counter()
    address = os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="WARNING", log_to_driver=True)
    serve.start(http_options={"host": host, "port": port})
    gpus = 1.0 if str(handler._device()).startswith("cuda") else 0.0
    app = build_app(handler, replicas=replicas, gpus_per_replica=gpus, **options)
    serve.run(app, name="rewardkit", route_prefix="/", blocking=False)
    return time.perf_counter() - t0


def run(
    handler: RewardHandler,
    *,
    host: str,
    port: int,
    replicas: int,
    token: str | None,
    max_bytes: int,
    max_batch_size: int,
    batch_timeout_s: float,
    banner: str,
) -> None:
    """Serve on Ray until SIGTERM or Ctrl-C, then shut the application down (in-flight requests finish)."""
    serve = _require()
    import ray

    seconds = start(
        handler,
        host=host,
        port=port,
        replicas=replicas,
        token=token,
        max_bytes=max_bytes,
        max_batch_size=max_batch_size,
        batch_timeout_s=batch_timeout_s,
    )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    log(f"serving {banner} at {url} ({replicas} replica(s), ready in {seconds:.1f} s)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
        log("SIGTERM: draining the replicas")
    except KeyboardInterrupt:
        log("interrupted: draining the replicas")
    serve.shutdown()
    ray.shutdown()
    log("stopped")

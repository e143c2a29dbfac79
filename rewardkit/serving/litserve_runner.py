"""The single-machine runner: the handler inside LitServe (one inference worker, dynamic batching).

LitServe (``litserve``, ``pip install 'rewardkit[serve]'``) owns the queue, the batching
(``max_batch_size``, ``batch_timeout``) and the worker process; rewardkit gives it the handler's
four methods (``setup``, ``decode_request``, ``predict``, ``encode_response``) behind one model
endpoint, ``POST /v1/score``. :class:`~rewardkit.serving.http.ServiceMiddleware` forwards
``/get_reward``, ``/slime`` and ``GET /v1/info`` to it, so every route shares the batch queue.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.serving.handler import Answer, Job, RewardHandler
from rewardkit.serving.http import ROWS_HEADER, ServiceMiddleware, log

SETUP_ERROR_FILE = "RK_SERVE_SETUP_ERROR_FILE"


def _require() -> Any:
    try:
        import litserve
    except ImportError:
        raise RewardkitError("rewardkit serve needs LitServe: pip install 'rewardkit[serve]'") from None
    return litserve


ls = _require()


def _response(answer: Answer) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(answer.body, status_code=answer.status, headers={ROWS_HEADER: str(answer.rows)})


class RewardLitAPI(ls.LitAPI):
    """The handler's four methods as LitServe calls them (one instance per inference worker)."""

    def __init__(self, handler: RewardHandler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handler = handler

    def setup(self, device: str) -> None:
        try:
            self.handler.setup()
        except RewardkitError as exc:  # a user's mistake: one line for the main process, no traceback
            where = os.environ.get(SETUP_ERROR_FILE)
            if where:
                Path(where).write_text(str(exc), encoding="utf-8")
                logging.getLogger("litserve").setLevel(logging.CRITICAL)
            raise

    def decode_request(self, request):  # unannotated: LitServe then reads the JSON body  # noqa: ANN001
        if isinstance(request, dict) and request.get("__route__") == "info":
            return "info"
        if isinstance(request, dict) and "__route__" in request:
            return self.handler.decode(str(request["__route__"]), request.get("body"))
        return self.handler.decode("score", request)

    def batch(self, inputs: list[Any]) -> list[Any]:
        return list(inputs)

    def predict(self, jobs: Any) -> Any:
        single = not isinstance(jobs, list)
        batch = [jobs] if single else jobs
        scored = [j for j in batch if isinstance(j, Job)]
        try:
            values = iter(self.handler.predict(scored))
            out = [(j, next(values) if isinstance(j, Job) else self.handler.info()) for j in batch]
        except Exception as exc:  # the whole batch failed inside the models: each of its requests gets 500
            out = [(j, exc) for j in batch]
        return out[0] if single else out

    def unbatch(self, outputs: list[Any]) -> list[Any]:
        return list(outputs)

    def encode_response(self, output: Any) -> Any:
        job, values = output
        if isinstance(values, BaseException):
            return _response(self.handler.failure(values))
        if job == "info":
            return _response(Answer(200, values))
        return _response(self.handler.encode(job, values))


def run(
    handler: RewardHandler,
    *,
    host: str,
    port: int,
    token: str | None,
    max_bytes: int,
    max_batch_size: int,
    batch_timeout_s: float,
    banner: str,
) -> None:
    """Serve until SIGTERM or Ctrl-C; SIGTERM lets in-flight requests finish, then returns."""
    from starlette.responses import JSONResponse

    api = RewardLitAPI(
        handler, max_batch_size=max_batch_size, batch_timeout=batch_timeout_s, api_path="/v1/score"
    )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    server = ls.LitServer(
        api,
        accelerator="cpu",  # the handler places its models itself (--device)
        timeout=False,
        healthcheck_path="/litserve/health",
        info_path="/litserve/info",
        disable_openapi_url=True,
        middlewares=[
            (
                ServiceMiddleware,
                {
                    "token": token,
                    "max_bytes": max_bytes,
                    "url": url,
                    "banner": banner,
                    "rewrite": "/v1/score",
                },
            )
        ],
    )

    async def health() -> Any:
        status = getattr(server, "workers_setup_status", None) or {}
        ready = bool(status) and all(getattr(v, "value", v) == "ready" for v in status.values())
        return JSONResponse(
            {"status": "ok"} if ready else {"status": "loading"}, status_code=200 if ready else 503
        )

    server.app.add_api_route("/health", health, methods=["GET"])
    stopping = {"done": False}
    main_pid = os.getpid()

    def on_term(signum: int, frame: Any) -> None:
        if os.getpid() != main_pid:  # a forked child inherited this handler: die as it would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if stopping["done"]:
            return
        stopping["done"] = True
        log("SIGTERM: no new requests; finishing the ones in flight")
        # Not from the handler itself: the main thread may be inside a call on the manager's connection.
        threading.Thread(target=stop, name="rewardkit-stop", daemon=True).start()

    def stop() -> None:
        # uvicorn's own SIGTERM handling stops accepting and waits for in-flight requests,
        # while the inference worker is still there to answer them.
        front = [p for p in multiprocessing.active_children() if p.name.startswith("LitServer-")]
        for p in front:
            os.kill(p.pid, signal.SIGTERM)
        for p in front:
            p.join(timeout=60)
        event = getattr(server, "_shutdown_event", None)
        if event is not None:
            event.set()

    signal.signal(signal.SIGTERM, on_term)
    with tempfile.TemporaryDirectory(prefix="rewardkit-serve-") as tmp:
        setup_error = Path(tmp) / "setup-error.txt"
        os.environ[SETUP_ERROR_FILE] = str(setup_error)  # the spawned worker inherits it
        try:
            server.run(
                host=host,
                port=port,
                log_level="warning",
                generate_client_file=False,
                api_server_worker_type="process",
                num_api_servers=1,
            )
        except RuntimeError:
            if setup_error.exists():
                raise RewardkitError(setup_error.read_text(encoding="utf-8")) from None
            raise
    log("stopped")

"""What every request meets before the handler, in both runners: an ASGI middleware.

It checks the bearer token (constant-time; every path but ``/health``), caps the body size
(413), refuses malformed JSON (400, one line), writes one access-log line per request (method,
path, status, rows, milliseconds) and the start-up line with the URL. With ``rewrite`` set
(the LitServe runner, whose one model endpoint is ``POST /v1/score``), the other routes are
forwarded to that endpoint with their route name, so every route shares one batch queue.
"""

from __future__ import annotations

import hmac
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

ROUTE_PATHS = {"/v1/score": "score", "/get_reward": "get_reward", "/slime": "slime"}
ROWS_HEADER = "x-rewardkit-rows"
# An oversized body is read (not kept) this far past the cap, then the connection closes.
DRAIN_LIMIT = 64 << 20


def log(line: str) -> None:
    """One line to standard error, flushed (the access log and the start-up line)."""
    print(f"rewardkit serve: {line}", file=sys.stderr, flush=True)


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (compared in constant time)."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110 11.1)
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


class ServiceMiddleware:
    """Token, size cap, JSON check, access log and start-up line around an ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        max_bytes: int = 64 << 20,
        url: str = "",
        banner: str = "",
        rewrite: str | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.max_bytes = max_bytes
        self.url = url
        self.banner = banner
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._announce(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state: dict[str, Any] = {"status": 0, "rows": "-"}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                for k, v in message.get("headers", []):
                    if k.decode("latin-1").lower() == ROWS_HEADER:
                        state["rows"] = v.decode("latin-1")
            await send(message)

        try:
            await self._serve(scope, receive, logged_send)
        finally:
            client = scope.get("client") or ("-", 0)
            ms = (time.perf_counter() - start) * 1000
            log(
                f'{client[0]} "{scope["method"]} {scope["path"]}" {state["status"]} rows={state["rows"]} {ms:.1f}ms'
            )

    def _announce(self, send: Any) -> Any:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and self.url:
                log(f"serving {self.banner} at {self.url}".replace("  ", " "))
            await send(message)

        return wrapped

    async def _serve(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope["path"]
        if self.token is not None and path != "/health":
            headers = dict(scope.get("headers") or [])
            auth = headers.get(b"authorization", b"").decode("latin-1")
            if not token_matches(auth, self.token):
                await respond(
                    send, 401, {"error": "missing or wrong bearer token (Authorization: Bearer ...)"}
                )
                return
        route = ROUTE_PATHS.get(path)
        if self.rewrite is not None and path == "/v1/info" and scope["method"] == "GET":
            await self._forward(scope, receive, send, b'{"__route__": "info"}')
            return
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size <= self.max_bytes:
                chunks.append(body)
            elif chunks:
                chunks = []  # over the cap: keep nothing, read on so the client sees the answer
            if not message.get("more_body", False) or size > DRAIN_LIMIT + self.max_bytes:
                break
        if size > self.max_bytes:
            await respond(send, 413, {"error": f"body: over the cap of {self.max_bytes:,} bytes"})
            return
        raw = b"".join(chunks)
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            reason = getattr(exc, "msg", None) or type(exc).__name__
            await respond(send, 400, {"error": f"body: malformed JSON ({reason})"})
            return
        if self.rewrite is not None:
            # /v1/score's body goes on as it came (parsed once more by LitServe, as JSON whatever
            # Content-Type the client sent); other routes are wrapped with their route name.
            wrapped = raw if route == "score" else json.dumps({"__route__": route, "body": payload}).encode()
            await self._forward(scope, receive, send, wrapped)
            return
        await self.app(scope, _replay(raw, receive), send)

    async def _forward(self, scope: Scope, receive: Any, send: Any, raw: bytes) -> None:
        headers = [
            (k, v) for k, v in scope.get("headers") or [] if k not in (b"content-length", b"content-type")
        ]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        forwarded = dict(
            scope, path=self.rewrite, raw_path=self.rewrite.encode(), method="POST", headers=headers
        )
        await self.app(forwarded, _replay(raw, receive), send)


def _replay(raw: bytes, receive: Any) -> Any:
    """A ``receive`` that gives the buffered body once, then waits on the client as the original does."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replayed


async def respond(send: Any, status: int, body: Any, rows: int | None = None) -> None:
    """Send a JSON response straight from the middleware."""
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if rows is not None:
        headers.append((ROWS_HEADER.encode(), str(rows).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})

"""``rewardkit serve``: a preset's reward as a batched HTTP service (see :mod:`rewardkit.serving`)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from rewardkit.errors import RewardkitError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def read_token(token_file: Path | None) -> str | None:
    """The bearer token from ``--token-file`` (first line) or ``RK_SERVE_TOKEN``; ``None`` when neither is set."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RewardkitError(f"--token-file {token_file}: cannot read ({exc})") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise RewardkitError(f"--token-file {token_file}: empty")
        return token
    env = os.environ.get("RK_SERVE_TOKEN", "").strip()
    return env or None


def serve(
    preset: str = typer.Option("toy", "--preset", "-p", help="Preset name or preset file (.yaml/.json)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback needs a token."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port (1024-65535)."),
    image_root: Path | None = typer.Option(
        None, "--image-root", help="Folder image paths are confined to (default: the working folder)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, mps."),
    dtype: str = typer.Option("fp32", "--dtype", help="fp32, fp16 or bf16."),
    max_batch_size: int = typer.Option(16, "--max-batch-size", help="Requests batched together at most."),
    batch_timeout_ms: float = typer.Option(
        5.0, "--batch-timeout-ms", help="How long a batch waits to fill, in milliseconds."
    ),
    token_file: Path | None = typer.Option(
        None, "--token-file", help="File whose first line is the bearer token (else RK_SERVE_TOKEN)."
    ),
    max_request_mb: float = typer.Option(
        32.0, "--max-request-mb", help="Request body cap in MB (413 over it)."
    ),
    max_rows: int = typer.Option(1024, "--max-rows", help="Rows per request at most (400 over it)."),
    batch_size: int = typer.Option(64, "--batch-size", help="The models' own batch size."),
    replicas: int | None = typer.Option(
        None, "--replicas", help="Run N Ray Serve replicas (joins RAY_ADDRESS when set)."
    ),
    ray: bool = typer.Option(False, "--ray", help="Run on Ray Serve (one replica unless --replicas)."),
) -> None:
    """Serve a preset's rewards over HTTP with dynamic batching: /v1/score, /get_reward (OpenRLHF), /slime."""
    from rewardkit.presets import load_preset
    from rewardkit.serving.handler import RewardHandler

    token = read_token(token_file)
    if host not in LOOPBACK and token is None:
        raise RewardkitError(
            f"--host {host} would expose the service beyond this machine: set a token with "
            "--token-file FILE or RK_SERVE_TOKEN (clients send Authorization: Bearer TOKEN)"
        )
    if not 1024 <= port <= 65535:
        raise RewardkitError(f"--port must be between 1024 and 65535, not {port}")
    _port_free("127.0.0.1" if host == "localhost" else host, port)  # said now, not after the models load
    for name, value in (
        ("--max-batch-size", max_batch_size),
        ("--max-rows", max_rows),
        ("--batch-size", batch_size),
    ):
        if value < 1:
            raise RewardkitError(f"{name} must be at least 1, not {value}")
    if batch_timeout_ms < 0 or max_request_mb <= 0:
        raise RewardkitError("--batch-timeout-ms must be >= 0 and --max-request-mb > 0")
    if replicas is not None and replicas < 1:
        raise RewardkitError(f"--replicas must be at least 1, not {replicas}")
    root = (image_root or Path.cwd()).resolve()
    if not root.is_dir():
        raise RewardkitError(f"--image-root {str(image_root)!r} is not a directory")
    spec = load_preset(preset)  # a bad preset is refused here, before any worker starts
    from rewardkit.backends.base import resolve_device, resolve_dtype

    resolve_device(device)
    resolve_dtype(dtype)
    handler = RewardHandler(
        preset, image_root=root, device=device, dtype=dtype, batch_size=batch_size, max_rows=max_rows
    )
    options = dict(
        host=host,
        port=port,
        token=token,
        max_bytes=int(max_request_mb * (1 << 20)),
        max_batch_size=max_batch_size,
        batch_timeout_s=batch_timeout_ms / 1000.0,
    )
    if ray or replicas is not None:
        from rewardkit.serving.ray_runner import run as run_ray

        run_ray(handler, replicas=replicas or 1, banner=f"preset {spec.name} (Ray Serve)", **options)
    else:
        host = "127.0.0.1" if host == "localhost" else host
        if host not in ("127.0.0.1", "0.0.0.0", "::"):
            raise RewardkitError(
                f"--host {host}: the single-process runner (LitServe) binds 127.0.0.1, 0.0.0.0 or :: only; "
                "use one of those, or --ray"
            )
        options["host"] = host
        from rewardkit.serving.litserve_runner import run as run_litserve

        run_litserve(handler, banner=f"preset {spec.name}", **options)


def _port_free(host: str, port: int) -> None:
    """Refuse a port another process holds, in one line, before anything is loaded."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RewardkitError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); another server may "
                "hold it: stop it or pick another --port"
            ) from None

"""``rewardkit bench``: caption a benchmark's images with a captioner and score them with the evaluation suite."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rewardkit.bench.benchmarks import as_rows, get_benchmark, load_items
from rewardkit.errors import RewardkitError


@dataclass(frozen=True)
class CaptionerSpec:
    """A captioner by name: a BLIP-2 checkpoint, optionally with a delta state dict on top."""

    name: str
    checkpoint: str
    delta_repo: str | None = None
    delta_file: str | None = None
    default_benchmark: str = "coco-karpathy-test"
    description: str = ""


def _toy(name: str) -> str:
    from rewardkit.registry import MODELS

    return MODELS.get(name).checkpoint


CAPTIONERS = {
    "blip2": CaptionerSpec("blip2", "Salesforce/blip2-opt-2.7b", description="BLIP-2 OPT-2.7B (VLRM's base)"),
    "vlrm": CaptionerSpec(
        "vlrm",
        "sashakunitsyn/vlrm-blip2-opt-2.7b",
        description="VLRM: the published RL-tuned BLIP-2 (whole model)",
    ),
    "vlrm-rs": CaptionerSpec(
        "vlrm-rs",
        "Salesforce/blip2-opt-2.7b",
        delta_repo="sashakunitsyn/vlrm-blip2-opt-2.7b",
        delta_file="vlrm-rs.pt",
        description="VLRM-RS: BLIP-2 plus the published delta state dict (strict=False)",
    ),
    "toy-sft": CaptionerSpec(
        "toy-sft", "toy-captioner", default_benchmark="toy", description="toy SFT captioner"
    ),
    "toy-a2c": CaptionerSpec(
        "toy-a2c", "toy-a2c", default_benchmark="toy", description="toy captioner after A2C"
    ),
}


def captioner_spec(name: str) -> CaptionerSpec:
    """A captioner by name; ``captions:PATH`` means a ready captions file (no generation)."""
    if name.startswith("captions:"):
        return CaptionerSpec(
            name, name[len("captions:") :], default_benchmark="toy", description="captions file"
        )
    if name not in CAPTIONERS:
        import difflib

        close = difflib.get_close_matches(name, list(CAPTIONERS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise RewardkitError(f"unknown model {name!r}{hint}; known: {', '.join(CAPTIONERS)}, captions:PATH")
    return CAPTIONERS[name]


def apply_delta(model: Any, state: dict[str, Any]) -> dict[str, list[str]]:
    """Load a partial state dict with ``strict=False``; returns which tensors it replaced and which it did not match."""
    own = model.state_dict()
    replaced = sorted(k for k in state if k in own)
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise RewardkitError(
            f"the delta has {len(result.unexpected_keys)} tensors the model lacks, e.g. {result.unexpected_keys[0]}"
        )
    return {"replaced": replaced, "unexpected": list(result.unexpected_keys)}


def load_captioner(spec: CaptionerSpec, *, device: str, dtype: str, batch_size: int) -> Any:
    """The BLIP-2 captioner of a spec (delta applied when the spec has one)."""
    from rewardkit.backends.blip2_captioner import Blip2Captioner

    checkpoint = _toy(spec.checkpoint) if spec.checkpoint.startswith("toy-") else spec.checkpoint
    if spec.checkpoint.startswith("toy-") and not Path(checkpoint).is_dir():
        raise RewardkitError(f"{spec.name}: {checkpoint} is not shipped in this installation")
    cap = Blip2Captioner(checkpoint, device=device, dtype=dtype, batch_size=batch_size)
    if spec.delta_repo:
        import torch

        from rewardkit.backends.base import hub_reachable, missing_checkpoint

        try:
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(spec.delta_repo, spec.delta_file, local_files_only=not hub_reachable())
        except Exception:
            raise missing_checkpoint(f"{spec.delta_repo}/{spec.delta_file}") from None
        state = torch.load(path, map_location="cpu", weights_only=True)
        cap.delta = apply_delta(cap.model, state)
    return cap


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in ("rewardkit", "torch", "transformers", "open_clip_torch", "pycocoevalcap"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _hardware(device: str) -> dict[str, Any]:
    import os

    import torch

    info: dict[str, Any] = {
        "device": device,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def bench_preset(benchmark: str) -> Any:
    """The scoring preset of a benchmark: the toy preset, or penalties plus the benchmark's CLIP evaluator."""
    from rewardkit.registry import ComponentSpec, PresetSpec

    spec = get_benchmark(benchmark)
    if benchmark == "toy":
        return "toy"
    return PresetSpec(
        f"bench-{benchmark}",
        (ComponentSpec("bad", "bad"), ComponentSpec("repeat", "repeat")),
        spec.evaluator,
        f"evaluation of {benchmark}",
    )


def run_bench(
    model: str,
    benchmark: str | None,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    out: Path,
    device: str,
    batch_size: int,
    generation: dict[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Caption, score, and write ``OUT/<model>__<benchmark>.json`` (+ captions and scores JSONL)."""
    from rewardkit.backends.blip2_captioner import VLRM_GENERATION
    from rewardkit.scoring.pipeline import ScoreConfig, score_file

    spec = captioner_spec(model)
    benchmark = benchmark or spec.default_benchmark
    bench_spec = get_benchmark(benchmark)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{model.replace(':', '_').replace('/', '_')}__{benchmark}"
    work = out / f".{stem}"
    items = load_items(benchmark, data_dir=data_dir, work=work, limit=limit, seed=seed)
    settings = {**VLRM_GENERATION, **bench_spec.generation, **(generation or {})}
    if model.startswith("captions:"):
        from rewardkit.scoring.rows import read_rows

        rows, errors = read_rows(spec.checkpoint, needs_image=False, allow_outside_root=True)
        if errors:
            raise errors[0]
        given = {r.key: r.caption for r in rows}
        lost = [it.id for it in items if it.id not in given]
        if lost:
            raise RewardkitError(
                f"{spec.checkpoint} has no caption for {len(lost)} benchmark items, e.g. id {lost[0]!r}"
            )
        captions = [given[it.id] for it in items]
        settings = {}
    else:
        cap = load_captioner(spec, device=device, dtype="fp32", batch_size=batch_size)
        from PIL import Image

        distinct = list(dict.fromkeys(it.image for it in items))
        images = []
        for p in distinct:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        done = [0]

        def tick(k: int) -> None:
            done[0] += k
            if progress:
                progress("captioning", done[0], len(images))

        texts = cap.caption(images, progress=tick, **settings)
        by_image = dict(zip(distinct, texts))
        captions = [by_image[it.image] for it in items]
    captions_path = out / f"{stem}.captions.jsonl"
    with open(captions_path, "w", encoding="utf-8") as fh:
        for row in as_rows(items, captions):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    config = ScoreConfig(
        captions=captions_path,
        out=out / f"{stem}.scores.jsonl",
        preset=bench_preset(benchmark),
        image_root=Path("/"),
        allow_outside_root=True,
        batch_size=batch_size,
        device=device,
    )
    result = score_file(config, progress=(lambda n: progress("scoring", n, len(items))) if progress else None)
    summary = result.summary
    metrics: dict[str, Any] = {
        k: summary[k] for k in ("clip_recall", "CLIPScore", "RefCLIPScore") if k in summary
    }
    metrics.update(summary.get("coco", {}))
    metrics["rewards"] = {k: v["mean"] for k, v in summary.get("components", {}).items()}
    if "esp" in summary:
        metrics["esp"] = summary["esp"]
    record = {
        "model": model,
        "benchmark": benchmark,
        "n": len(items),
        "metrics": metrics,
        "generation": settings,
        "config": {
            "seed": seed,
            "limit": limit,
            "data_dir": str(data_dir) if data_dir else None,
            "checkpoint": spec.checkpoint,
        },
        "versions": _versions(),
        "hardware": _hardware(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": "measured by rewardkit",
        "notes": summary.get("notes", []),
    }
    (out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return record

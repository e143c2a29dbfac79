"""``rewardkit bench``: caption a benchmark's images with a captioner and score them with the evaluation suite."""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rewardkit.bench.benchmarks import (
    TOY_BENCH_SEED_OFFSET,
    TOY_BENCHMARKS,
    as_rows,
    get_benchmark,
    load_items,
)
from rewardkit.bench.captioners import (  # noqa: F401  (re-exported: bench's public names)
    CaptionerSpec,
    apply_delta,
    captioner_spec,
    load_captioner,
)
from rewardkit.errors import RewardkitError

SCALE = "raw: recall, MRR and the COCO metrics in [0, 1] (CIDEr-D up to 10), CLIPScore on its 0-2.5 scale; lmms-eval reports raw scores, VLMEvalKit x100"


def _portable(checkpoint: str) -> str:
    """A checkpoint as recorded in results: shipped toy weights relative to the package, others as given."""
    from rewardkit.registry import TOY_WEIGHTS

    root = str(TOY_WEIGHTS.parent.parent)
    return "rewardkit" + checkpoint[len(root) :] if checkpoint.startswith(str(TOY_WEIGHTS)) else checkpoint


def _image_id(item_id: str) -> int | str:
    """A COCO-format ``image_id``: the integer when the benchmark's id is one."""
    return int(item_id) if item_id.isdigit() else item_id


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
    if benchmark in TOY_BENCHMARKS:
        return benchmark  # the toy presets carry their evaluator
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
    prompt: str | None = None,
    max_new_tokens: int | None = None,
) -> dict[str, Any]:
    """Caption, score, and write ``OUT/<model>__<benchmark>.json`` (+ captions and scores JSONL).

    Toy benchmarks also keep their images in ``OUT/<model>__<benchmark>.images/`` (the captions
    file names them relative to OUT) and add the claim metrics of :mod:`rewardkit.toy.claims`.
    The record's ``files`` lists what was written, relative to OUT.
    """
    from rewardkit.backends.blip2_captioner import VLRM_GENERATION
    from rewardkit.scoring.memory import score_held_rows

    spec = captioner_spec(model)
    benchmark = benchmark or spec.default_benchmark
    bench_spec = get_benchmark(benchmark)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_.") or "model"
    stem = f"{slug}__{benchmark}"
    work = out / f".{stem}"
    if prompt is not None and spec.kind != "hf":
        raise RewardkitError(
            "--prompt applies to hf: captioners (and local non-BLIP-2 folders), not to BLIP-2 models"
        )
    if limit is not None and limit < 1:
        raise RewardkitError(f"--limit must be at least 1, not {limit}")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise RewardkitError(f"--max-new-tokens must be at least 1, not {max_new_tokens}")
    images_dir = out / f"{stem}.images"  # toy benchmarks: kept, so the captions file can be scored again
    if benchmark in TOY_BENCHMARKS:
        _fresh_folder(images_dir)
    items = load_items(
        benchmark,
        data_dir=data_dir,
        work=images_dir if benchmark in TOY_BENCHMARKS else work,
        limit=limit,
        seed=seed,
    )
    if spec.kind == "hf":  # lmms-eval's decoding: greedy, the task's token cap, its prompt for chat models
        settings = {
            "do_sample": False,
            "num_beams": 1,
            "max_new_tokens": max_new_tokens or bench_spec.chat_max_new_tokens,
        }
        settings.update(generation or {})
    else:
        settings = {**VLRM_GENERATION, **bench_spec.generation, **(generation or {})}
        if max_new_tokens is not None:
            settings["max_new_tokens"] = max_new_tokens
    if spec.kind == "captions":
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
        cap = load_captioner(spec, device=device, dtype="fp32", batch_size=batch_size, prompt="")
        if spec.kind == "hf":
            chat = bool(getattr(cap.processor, "chat_template", None))
            cap.prompt = prompt if prompt is not None else (bench_spec.chat_prompt if chat else "")
            settings["prompt"] = cap.prompt
        from rewardkit.io.images import load_image

        distinct = list(dict.fromkeys(it.image for it in items))
        images = [load_image(p, name=f"image {str(p)!r}").image for p in distinct]
        done = [0]

        def tick(k: int) -> None:
            done[0] += k
            if progress:
                progress("captioning", done[0], len(images))

        texts = cap.caption(images, progress=tick, **{k: v for k, v in settings.items() if k != "prompt"})
        by_image = dict(zip(distinct, texts))
        captions = [by_image[it.image] for it in items]
    predictions = [
        {"image_id": _image_id(it.id), "caption": c} for it, c in zip(items, captions)
    ]  # COCO result format
    captions_path = out / f"{stem}.captions.jsonl"
    file_rows = [_relative_image(row, out) for row in as_rows(items, captions)]
    with open(captions_path, "w", encoding="utf-8") as fh:  # an output: the captions can be scored again
        for row in file_rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    scores_path = out / f"{stem}.scores.jsonl"
    held = score_held_rows(
        held_rows(file_rows, captions_path, out),
        bench_preset(benchmark),
        captions=captions_path,
        device=device,
        batch_size=batch_size,
        out=scores_path,
        progress=(lambda n: progress("scoring", n, len(items))) if progress else None,  # an advancing stage
    )
    summary = held.summary
    metrics: dict[str, Any] = {
        k: summary[k] for k in ("clip_recall", "CLIPScore", "RefCLIPScore") if k in summary
    }
    metrics.update(summary.get("coco", {}))
    metrics["rewards"] = {k: v["mean"] for k, v in summary.get("components", {}).items()}
    if "esp" in summary:
        metrics["esp"] = summary["esp"]
    scene_list = None
    if benchmark in TOY_BENCHMARKS:
        from rewardkit.registry import TIERS
        from rewardkit.toy.claims import claim_metrics

        tier = TIERS.get(TOY_BENCHMARKS[benchmark])
        w = tier.world()
        scene_list = w.distinct_scenes(
            len(items), TOY_BENCH_SEED_OFFSET + seed
        )  # the items' scenes, in order
        metrics.update(claim_metrics(captions, scene_list, tier))
        if "judge" in tier.models:
            metrics.update(
                judge_recall(captions, [w.render(s) for s in scene_list], tier.models["judge"], device)
            )
    record = {
        "model": model,
        "benchmark": benchmark,
        "n": len(items),
        "empty_captions": summary.get("empty_captions", 0),
        **({"clip_recall_ties": summary["clip_recall_ties"]} if "clip_recall_ties" in summary else {}),
        "metrics": metrics,
        "generation": settings,
        "config": {
            "seed": seed,
            **({"scene_seed": TOY_BENCH_SEED_OFFSET + seed} if benchmark in TOY_BENCHMARKS else {}),
            "limit": limit,
            "data_dir": str(data_dir) if data_dir else None,
            "checkpoint": _portable(spec.checkpoint),
        },
        "versions": _versions(),
        "hardware": _hardware(device),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": "measured by rewardkit",
        "notes": summary.get("notes", []),
        "scale": SCALE,
        "predictions": f"{stem}.predictions.json",
    }
    if scene_list is not None:
        from rewardkit.toy.overlap import overlap_report

        record["overlap"] = overlap_report(scene_list, tier)
    from rewardkit.scoring.output import atomic_write_text, sidecar

    written = [
        out / f"{stem}.json",
        captions_path,
        scores_path,
        sidecar(scores_path, ".summary.json"),
        sidecar(scores_path, ".meta.json"),
        out / f"{stem}.predictions.json",
        *([images_dir] if benchmark in TOY_BENCHMARKS else []),
    ]
    record["files"] = [p.name for p in written]
    atomic_write_text(out / f"{stem}.predictions.json", json.dumps(predictions, ensure_ascii=False) + "\n")
    atomic_write_text(out / f"{stem}.json", json.dumps(record, indent=2) + "\n")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return record


def _fresh_folder(folder: Path) -> None:
    """An empty ``folder`` for bench's own output (a previous run's is replaced; anything but a folder is refused)."""
    import shutil

    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise RewardkitError(
            f"{folder}: exists and is not a folder bench wrote; move it away or choose another --out"
        )
    shutil.rmtree(folder, ignore_errors=True)


def _relative_image(row: dict[str, Any], out: Path) -> dict[str, Any]:
    """A captions row whose image under ``out`` is named relative to it (the captions file's folder), so the
    folder can be moved and scored again; images elsewhere (a --data-dir) stay absolute."""
    try:
        row["image"] = str(Path(row["image"]).relative_to(out.resolve()))
    except ValueError:
        pass
    return row


def held_rows(file_rows: list[dict[str, Any]], captions_path: Path, out: Path) -> list[Any]:
    """The captions rows as validated :class:`~rewardkit.scoring.row.Row` objects, checked in memory exactly as
    ``rewardkit score`` checks its file's lines (images resolved under ``out``, real benchmarks' outside it)."""
    from rewardkit.scoring.rows import parse_row

    return [
        parse_row(
            captions_path,
            i + 1,
            json.dumps(row, ensure_ascii=False),
            out,
            needs_image=True,
            allow_outside_root=True,
        )
        for i, row in enumerate(file_rows)
    ]


def judge_recall(captions: list[str], images: list[Any], judge: str, device: str = "cpu") -> dict[str, float]:
    """``judge_R@1``/``judge_R@5``/``judge_MRR``: CLIP Recall by a tier's held-out judge (a CLIP no preset uses)."""
    from rewardkit.backends.open_clip import OpenCLIPBackend
    from rewardkit.registry import MODELS
    from rewardkit.toy.evaluation import toy_clip_recall

    model = OpenCLIPBackend(MODELS.get(judge).checkpoint, device=device, batch_size=256)
    r = toy_clip_recall(captions, images, model)
    return {"judge_R@1": r["R@1"], "judge_R@5": r["R@5"], "judge_MRR": r["MRR"]}

"""Image parts of the scale benchmark (assembled by ``benchmarks/bench_scale.py``): pipeline speed and overlap.

1,000 photo-like 640x480 JPEGs (gradients, blurred shapes, mild noise; not noise) are made here.

* ``pipeline_vs_reference``: images/s of rewardkit's image pipeline (:mod:`rewardkit.io.pipeline`:
  one read per file, hash, decode, EXIF, normalisation, each model's transform, batching) against a
  reference ``torch.utils.data.DataLoader`` with the same number of workers whose dataset opens each
  file with PIL, converts to RGB and applies the same transforms (default collation). Measured for two
  sets of transforms: the models ``rewardkit score`` runs here (the shipped toy ITM and CLIP, 64 px,
  where reduced-scale JPEG decoding applies) and the shapes of the real VLRM preset (an open_clip
  ViT-B eval transform and a BLIP image processor, both 224 px, where a 640x480 JPEG is decoded in
  full). The headline is the lower of the two. Target ≥ 0.9.
* ``overlap_ratio``: end-to-end time of the pipeline feeding a simulated accelerator (a forward that
  sleeps a fixed time per batch, releasing the CPU as a GPU does, set to the pipeline's own time per
  batch) over max(pipeline time, forward time), the fastest of three alternating runs of each.
  Target ≤ 1.15; ``overlap_ratio_in_process`` is the same with ``workers=0`` (decode, then forward:
  about 2).

Run alone: ``python benchmarks/_scale_images.py [--quick]``.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

N_IMAGES = 1000
BATCH = 32


def photo_like(seed: int, size: tuple[int, int] = (640, 480), quality: int = 90) -> bytes:
    """A JPEG with what photos have and noise lacks: smooth gradients, blurred shapes, mild sensor noise."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (x / w * np.cos(angle) + y / h * np.sin(angle))[..., None]
    arr = rng.uniform(0, 255, 3) * (1 - t) + rng.uniform(0, 255, 3) * t
    im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.25) * w
        box = [cx - r, cy - r * rng.uniform(0.4, 1), cx + r, cy + r]
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    im = im.filter(ImageFilter.GaussianBlur(w / 400))
    noisy = np.asarray(im).astype(np.float32) + rng.normal(0, 4, (h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


class _Reference:
    """The reference dataset: PIL open, RGB, each model's own transform."""

    def __init__(self, files: list[Path], transforms: list[Any]) -> None:
        self.files, self.transforms = files, transforms

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            rgb = im.convert("RGB")
        return tuple(t(rgb) for t in self.transforms)


def _reference_pass(files: list[Path], transforms: list[Any], workers: int) -> float:
    from torch.utils.data import DataLoader

    loader = DataLoader(
        _Reference(files, [t.transform for t in transforms]), batch_size=BATCH, num_workers=workers
    )
    start = time.perf_counter()
    n = sum(len(batch[0]) for batch in loader)
    assert n == len(files)
    return time.perf_counter() - start


def _pipeline_pass(files: list[Path], transforms: list[Any], workers: int, forward_s: float = 0.0) -> float:
    from rewardkit.io.pipeline import ImagePipeline, model_pixels

    batches = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
    start = time.perf_counter()
    n = 0
    with ImagePipeline(transforms, workers=workers) as pipe:
        for _, prepared in pipe.map_batches(batches, lambda p: p):
            for t in transforms:  # what each backend does with a prepared batch
                model_pixels(prepared, t.model_id, t.transform)
            n += len(prepared)
            if forward_s:
                time.sleep(forward_s)
    assert n == len(files)
    return time.perf_counter() - start


def _toy_transforms() -> list[Any]:
    from rewardkit.io.pipeline import model_transforms
    from rewardkit.presets import build_evaluator, build_reward

    return model_transforms(
        build_reward("toy", only=["itm"], device="cpu"), build_evaluator("toy", device="cpu")
    )


def _vlrm_shaped_transforms() -> list[Any]:
    """The VLRM preset's image transforms at their real sizes, without the weights."""
    from open_clip.transform import image_transform
    from transformers import BlipImageProcessor

    from rewardkit.io.pipeline import ModelTransform

    blip = BlipImageProcessor(size={"height": 224, "width": 224})
    return [
        ModelTransform("open_clip-224", image_transform(224, is_train=False), 224),
        ModelTransform("blip2-224", lambda im: blip(images=im, return_tensors="pt")["pixel_values"][0], 224),
    ]


def run(quick: bool = False) -> dict[str, Any]:
    """Measure the image pipeline against the reference DataLoader and its overlap with a simulated forward."""
    from rewardkit.io.pipeline import default_workers

    n = 200 if quick else N_IMAGES
    workers = default_workers()
    n_batches = -(-n // BATCH)
    with tempfile.TemporaryDirectory(prefix="rk-scale-images-") as tmp:
        files = []
        for i in range(n):
            path = Path(tmp) / f"{i:05d}.jpg"
            path.write_bytes(photo_like(i))
            files.append(path)
        for p in files:  # warm the page cache so both sides read from memory
            p.read_bytes()
        out: dict[str, Any] = {
            "n_images": n,
            "image_size": [640, 480],
            "batch_size": BATCH,
            "workers": workers,
        }
        ratios = {}
        for label, transforms in (("toy", _toy_transforms()), ("vlrm_224", _vlrm_shaped_transforms())):
            ref_s = _reference_pass(files, transforms, workers)
            ours_s = _pipeline_pass(files, transforms, workers)
            ratios[label] = ref_s / ours_s
            out[label] = {
                "transforms": [f"{t.model_id.split(':')[0]}@{t.size}px" for t in transforms],
                "reference_images_per_s": n / ref_s,
                "pipeline_images_per_s": n / ours_s,
                "pipeline_vs_reference": ratios[label],
            }
            if label != "toy":
                continue
            # Overlap: a forward sleeping the pipeline's own time per batch. Pipeline-only and end-to-end
            # passes alternate, three each, and the fastest of each counts: on a shared machine the
            # fastest run is the least disturbed one.
            forward = ours_s / n_batches
            pipe, e2e = [ours_s], []
            for k in range(3):
                e2e.append(_pipeline_pass(files, transforms, workers, forward))
                if k < 2:
                    pipe.append(_pipeline_pass(files, transforms, workers))
            pipe_s, e2e_s = min(pipe), min(e2e)
            # In-process baseline (workers=0) on the first 256 images: decode, then forward, in turn.
            few = files[:256]
            serial_pipe = _pipeline_pass(few, transforms, 0)
            serial_forward = serial_pipe / -(-len(few) // BATCH)
            serial_e2e = _pipeline_pass(few, transforms, 0, serial_forward)
            out["overlap"] = {
                "forward_s_per_batch": forward,
                "forward_s": forward * n_batches,
                "pipeline_s": pipe,
                "end_to_end_s": e2e,
                "in_process": {
                    "n_images": len(few),
                    "pipeline_s": serial_pipe,
                    "forward_s": serial_forward * -(-len(few) // BATCH),
                    "end_to_end_s": serial_e2e,
                },
            }
            out["overlap_ratio"] = e2e_s / max(pipe_s, forward * n_batches)
            out["overlap_ratio_in_process"] = serial_e2e / max(
                serial_pipe, serial_forward * -(-len(few) // BATCH)
            )
        out["pipeline_vs_reference"] = min(ratios.values())
        out["targets"] = {"pipeline_vs_reference": ">= 0.9", "overlap_ratio": "<= 1.15"}
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

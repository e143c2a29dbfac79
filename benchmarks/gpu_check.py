"""GPU readiness check: the paper's architectures at real size, random bf16 weights, on one GPU, in one script.

Measures, writing one JSON (default ``benchmarks/results/gpu_check.json``):

  score       ``rewardkit score`` with the ``vlrm`` preset (BLIP-2 ITM ViT-g + OPT-2.7B ref +
              penalties, ViT-g-14 evaluator) on synthetic photo-like 640x480 JPEGs: captions/s
              (marginal: two runs of different sizes, so model loading cancels out) against the
              bare model forwards on pre-processed tensors in this process, and peak GPU memory
              (the score process; each component's bare forward alone).
  train_step  one A2C step of ``rewardkit train`` with the ``vlrm`` preset and the BLIP-2 OPT-2.7B
              policy: wall time, peak GPU memory, the step's metrics.
  generation  BLIP-2 OPT-2.7B captions with VLRM Table 2 decoding: images/s.
  serve       the serve load test (``benchmarks/bench_serve.py``) when this checkout has it; else the
              reason it was skipped.

The architectures are built from their published configurations exactly as
``benchmarks/bench_real_size.py`` builds them (its configs and tokenizers are reused), with random
weights, once, into ``--cache``. ``--smoke`` runs the same path on CPU with tiny configurations
(about a minute; the test suite runs it).

Runs from a plain checkout on a GPU machine without network:

    PYTHONPATH=. python benchmarks/gpu_check.py [--cache /tmp/rk_gpu_cache] [--out result.json]

It needs torch, torchvision, transformers, peft, accelerate, timm, rich, typer and pandas. Two
dependencies are often missing on such machines: ``open_clip_torch`` (the evaluator) and
``pycocoevalcap`` (reference metrics; the check gives no references, so it is not used). Fetch
their wheels on a machine with network, next to this script:

    pip download open_clip_torch ftfy wcwidth regex --no-deps -d benchmarks/wheels

and the check installs what is missing with ``pip install --no-index --find-links
benchmarks/wheels`` (``--wheels DIR`` for another folder). Without open_clip the evaluator is left
out, and the JSON says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bench_real_size as real  # noqa: E402  (the configs and tokenizers of the real-size benchmark)

TINY = {
    "vision": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 224,
        "patch_size": 32,
    },
    "qformer": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "cross_attention_frequency": 1,
        "encoder_hidden_size": 32,
    },
    "opt": {
        **real.OPT_2_7B,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "ffn_dim": 64,
        "word_embed_proj_dim": 32,
    },
    "query_tokens": 4,
    "open_clip": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "patch_size": 32, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
}
REAL = {
    "vision": real.BLIP2_VISION,
    "qformer": real.BLIP2_QFORMER,
    "opt": real.OPT_2_7B,
    "query_tokens": 32,
    "open_clip": real.OPENCLIP["evaluator"],
}
CAPTIONS = [
    "a man riding a wave on top of a surfboard",
    "two dogs playing with a frisbee in a grassy park",
    "a plate of food with broccoli and rice on a table",
    "a red double decker bus driving down a city street",
    "an image of a cat sitting on a wooden bench",
    "a woman holding an umbrella on a rainy street street",
]


# ---------------------------------------------------------------- environment


def ensure_packages(wheels: Path | None, log) -> dict:
    """Install open_clip_torch / pycocoevalcap from local wheels when missing; report what is there."""
    wanted = {"open_clip": "open_clip_torch", "pycocoevalcap": "pycocoevalcap"}
    missing = [pkg for mod, pkg in wanted.items() if not _importable(mod)]
    report: dict = {"missing_before": missing}
    if missing and wheels is not None and wheels.is_dir():
        cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), *missing]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        report["pip"] = {"command": " ".join(cmd), "code": proc.returncode, "tail": proc.stderr[-400:]}
        importlib.invalidate_caches()
        log(f"pip install from {wheels}: exit {proc.returncode}")
    report["missing"] = [pkg for mod, pkg in wanted.items() if not _importable(mod)]
    return report


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _fallback_vocab(size: int, specials: list[str]) -> list[str]:
    """A word-level vocabulary without open_clip's BPE file: the check's caption words, then fillers."""
    words = sorted({w for c in CAPTIONS for w in c.split()} | {"photo", "depicts", "street", "the"})
    vocab = specials + [w for w in words if w not in specials]
    return (vocab + [f"tok{i}" for i in range(size - len(vocab))])[:size]


def environment(device: str) -> dict:
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_cores": os.cpu_count(),
    }
    for pkg in ("transformers", "peft", "accelerate", "timm", "open_clip", "pycocoevalcap"):
        if not _importable(pkg):
            env[pkg] = None
            continue
        try:
            env[pkg] = __import__(pkg).__version__
        except Exception:  # noqa: BLE001 - a version string is informative only
            env[pkg] = "installed"
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = {"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1)}
        env["cuda"] = torch.version.cuda
    return env


# ---------------------------------------------------------------- models and inputs


def build_models(cache: Path, smoke: bool, with_clip: bool, device: str, log) -> dict[str, Path]:
    """Random bf16 checkpoints (bench_real_size's architectures; tiny ones for --smoke), built once."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2ForImageTextRetrieval,
        OPTConfig,
        OPTForCausalLM,
    )

    cfg = TINY if smoke else REAL
    cache.mkdir(parents=True, exist_ok=True)
    paths = {
        "itm": cache / "blip2-itm",
        "captioner": cache / "blip2-opt",
        "ref": cache / "opt",
        "evaluator": cache / ("open_clip-tiny" if smoke else "open_clip-ViT-g-14.safetensors"),
    }
    # Random init on the GPU is seconds; on the CPU it is minutes for OPT-2.7B.
    init_device = "cuda" if device.startswith("cuda") else "cpu"
    torch.set_default_dtype(torch.bfloat16)
    try:
        for name in ("captioner", "itm", "ref", "evaluator"):
            path = paths[name]
            if path.exists() or (name == "evaluator" and not with_clip):
                continue
            t0 = time.time()
            torch.manual_seed(0)
            if name == "captioner":
                config = Blip2Config(
                    vision_config=cfg["vision"],
                    qformer_config=cfg["qformer"],
                    text_config=cfg["opt"],
                    num_query_tokens=cfg["query_tokens"],
                    image_token_index=real.IMAGE_TOKEN_INDEX,
                )
                with torch.device(init_device):
                    model = Blip2ForConditionalGeneration(config)
                real._save(model.cpu(), path, real._opt_tokenizer(), _image_processor(cfg))
                del model
            elif name == "itm":
                config = Blip2Config(
                    vision_config=cfg["vision"],
                    qformer_config={**cfg["qformer"], "vocab_size": 30523, "use_qformer_text_input": True},
                    num_query_tokens=cfg["query_tokens"],
                    image_text_hidden_size=256,
                )
                with torch.device(init_device):
                    model = Blip2ForImageTextRetrieval(config)
                real._save(model.cpu(), path, real._bert_tokenizer(), _image_processor(cfg))
                del model
            elif name == "ref":  # the captioner's own LM saved alone, as facebook/opt-2.7b is BLIP-2's
                from safetensors import safe_open

                state = {}
                for shard in sorted(paths["captioner"].glob("model*.safetensors")):
                    with safe_open(str(shard), framework="pt") as f:
                        for k in f.keys():
                            if k.startswith("language_model."):
                                state[k.removeprefix("language_model.")] = f.get_tensor(k)
                with torch.device("meta"):
                    lm = OPTForCausalLM(OPTConfig(**cfg["opt"]))
                lm.load_state_dict(state, assign=True, strict=False)
                lm.tie_weights()
                real._save(lm, path, real._opt_tokenizer(), None)
                del state, lm
            else:
                with torch.device(init_device):
                    _save_open_clip(path, smoke)
            if init_device == "cuda":
                torch.cuda.empty_cache()
            log(f"built {name} in {time.time() - t0:.0f} s -> {path}")
    finally:
        torch.set_default_dtype(torch.float32)
    return paths


def _image_processor(cfg: dict):
    from transformers import BlipImageProcessor

    size = cfg["vision"]["image_size"]
    return BlipImageProcessor(
        size={"height": size, "width": size}, image_mean=real.CLIP_MEAN, image_std=real.CLIP_STD
    )


def _save_open_clip(path: Path, smoke: bool) -> None:
    import open_clip
    from safetensors.torch import save_file

    if smoke:  # an open_clip ``local-dir:`` folder with a tiny custom config
        path.mkdir(parents=True, exist_ok=True)
        model = open_clip.CLIP(**TINY["open_clip"])
        preprocess = {"mean": real.CLIP_MEAN, "std": real.CLIP_STD, "interpolation": "bicubic"}
        (path / "open_clip_config.json").write_text(
            json.dumps({"model_cfg": TINY["open_clip"], "preprocess_cfg": preprocess})
        )
        out = path / "open_clip_model.safetensors"
    else:
        model = open_clip.create_model(REAL["open_clip"], pretrained=None)
        out = path
    state = {k: v.to("cpu", torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out))


def preset_file(paths: dict[str, Path], folder: Path, smoke: bool, with_clip: bool) -> Path:
    """The ``vlrm`` preset pointed at the local random checkpoints."""
    models = {
        "itm": {"backend": "blip2_itm", "checkpoint": str(paths["itm"])},
        "lm": {"backend": "causal_lm", "checkpoint": str(paths["ref"])},
    }
    spec: dict = {
        "name": "vlrm-gpu-check",
        "models": models,
        "components": [
            {"name": "itm", "reward": "itm", "model": "itm"},
            {"name": "ref", "reward": "ref", "model": "lm"},
            {"reward": "bad"},
            {"reward": "repeat"},
            {"reward": "noeos"},
        ],
    }
    if with_clip:
        if smoke:
            models["clip"] = {"backend": "open_clip", "checkpoint": f"local-dir:{paths['evaluator']}"}
        else:
            models["clip"] = {
                "backend": "open_clip",
                "checkpoint": REAL["open_clip"],
                "pretrained": str(paths["evaluator"]),
            }
        spec["evaluator"] = "clip"
    path = folder / "vlrm-gpu-check.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


def photo_like_jpegs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` 640x480 JPEGs that compress like photos: smooth gradients, shapes, mild noise (not noise)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    out = []
    for i in range(n):
        path = folder / f"img{i:05d}.jpg"
        out.append(path)
        if path.exists():
            continue
        a, b = rng.uniform(-1, 1, 2), rng.uniform(0, 255, 3)
        base = np.stack([b[c] + 60 * (a[0] * xx / 640 + a[1] * yy / 480) for c in range(3)], -1)
        im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        for _ in range(rng.integers(3, 8)):
            x0, y0 = rng.integers(0, 560), rng.integers(0, 400)
            box = [int(x0), int(y0), int(x0 + rng.integers(40, 240)), int(y0 + rng.integers(40, 200))]
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        im = im.filter(ImageFilter.GaussianBlur(1.5))
        noisy = np.asarray(im, dtype=np.int16) + rng.integers(-6, 7, (480, 640, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
    return out


def rows_file(path: Path, images: list[Path]) -> Path:
    rows = [
        {
            "id": f"r{i}",
            "image": str(im),
            "caption": CAPTIONS[i % len(CAPTIONS)],
            "ended_with_eos": i % 7 != 0,
        }
        for i, im in enumerate(images)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- measurements


_WRAPPER = """
import json, resource, runpy, sys, time
t0 = time.time()
code = 0
try:
    sys.argv = ["rewardkit", *sys.argv[1:]]
    runpy.run_module("rewardkit", run_name="__main__")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
gpu = None
try:
    import torch
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        gpu = torch.cuda.max_memory_allocated() / 2**30
except Exception:
    pass
print("GPU_CHECK " + json.dumps({"code": code, "seconds": time.time() - t0, "peak_gpu_gb": gpu,
      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def rewardkit_measured(args: list[str], timeout: float) -> dict:
    """``python -m rewardkit ARGS`` in a fresh process: exit code, wall time, peak GPU memory, peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {"code": None, "error": f"timed out after {timeout:.0f} s"}
    lines = [x for x in proc.stdout.splitlines() if x.startswith("GPU_CHECK ")]
    out = json.loads(lines[-1].removeprefix("GPU_CHECK ")) if lines else {"code": proc.returncode}
    if out.get("code"):
        out["stderr"] = proc.stderr[-1500:]
    return out


def score_flags(device: str, batch_size: int) -> list[str]:
    flags = ["--device", device, "--dtype", "bf16", "--batch-size", str(batch_size), "-q"]
    flags.append("--allow-outside-root")
    help_text = subprocess.run(
        [sys.executable, "-m", "rewardkit", "score", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    ).stdout
    if "--workers" in help_text:  # the parallel image pipeline, where this checkout has it
        flags += ["--workers", str(min(8, os.cpu_count() or 1))]
    return flags


def measure_score(preset: Path, work: Path, images: list[Path], device: str, batch: int, small: int) -> dict:
    """Marginal captions/s of ``rewardkit score``: (n_big - n_small) / (t_big - t_small)."""
    flags = score_flags(device, batch)
    runs = {}
    for label, n in (("small", small), ("big", len(images))):
        rows = rows_file(work / f"rows_{label}.jsonl", images[:n])
        out = work / f"scores_{label}.jsonl"
        for stale in work.glob(f"scores_{label}*"):
            stale.unlink() if stale.is_file() else shutil.rmtree(stale)
        runs[label] = {
            "rows": n,
            **rewardkit_measured(["score", str(rows), "--preset", str(preset), "-o", str(out), *flags], 900),
        }
    result = {"flags": flags, "runs": runs}
    ok = all(r.get("code") == 0 for r in runs.values())
    if ok:
        dt = runs["big"]["seconds"] - runs["small"]["seconds"]
        dn = runs["big"]["rows"] - runs["small"]["rows"]
        result["captions_per_s"] = dn / dt if dt > 0 else None
        result["peak_gpu_gb"] = runs["big"].get("peak_gpu_gb")
    return result


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.inference_mode()
def measure_bare(preset: Path, images: list[Path], device: str, batch: int) -> dict:
    """Each model's forward alone on pre-processed tensors (decoding and transforms done beforehand)."""
    from PIL import Image

    from rewardkit.presets import build_evaluator, build_reward

    pil = []
    for p in images:
        with Image.open(p) as im:
            pil.append(im.convert("RGB"))
    caps = [CAPTIONS[i % len(CAPTIONS)] for i in range(len(images))]
    reward = build_reward(str(preset), device=device, dtype="bf16", batch_size=batch)
    backends = {c.name: c.reward.backend for c in reward.components if hasattr(c.reward, "backend")}
    try:
        backends["evaluator"] = build_evaluator(str(preset), device=device, dtype="bf16", batch_size=batch)
    except Exception as err:  # noqa: BLE001 - a preset without an evaluator
        backends.pop("evaluator", None)
        print(f"no evaluator: {err}", file=sys.stderr)
    out: dict = {}
    total = 0.0
    for name, be in backends.items():
        if be is None:
            continue
        batches = []
        for s in range(0, len(caps), batch):
            ims, txt = pil[s : s + batch], caps[s : s + batch]
            if name == "itm":
                pix = be.image_processor(images=ims, return_tensors="pt")["pixel_values"].to(
                    be.device, be.dtype
                )
                tok = be.tokenizer(txt, return_tensors="pt", padding=True, truncation=True, max_length=32)
                batches.append((pix, tok["input_ids"].to(be.device), tok["attention_mask"].to(be.device)))
            elif name == "ref":
                tok = be.tokenizer(txt, return_tensors="pt", padding=True)
                batches.append({k: v.to(be.device) for k, v in tok.items()})
            else:  # open_clip
                pix = torch.stack([be.preprocess(im) for im in ims]).to(be.device, be.dtype)
                batches.append((pix, be.tokenizer(txt).to(be.device)))

        def forward(b, name=name, be=be):
            if name == "itm":
                be.model(
                    pixel_values=b[0], input_ids=b[1], attention_mask=b[2], use_image_text_matching_head=True
                )
            elif name == "ref":
                be.model(**b)
            else:
                be.model.encode_image(b[0])
                be.model.encode_text(b[1])

        forward(batches[0])  # warm-up (kernels, allocator)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        _sync(device)
        t0 = time.perf_counter()
        for b in batches:
            forward(b)
        _sync(device)
        sec = time.perf_counter() - t0
        total += sec
        out[name] = {"seconds": sec, "captions_per_s": len(caps) / sec}
        if device.startswith("cuda"):
            # max allocated during this model's forwards, every model of the preset resident
            out[name]["peak_gpu_gb_all_models_loaded"] = torch.cuda.max_memory_allocated() / 2**30
    out["all_models_captions_per_s"] = len(caps) / total if total else None
    from rewardkit import presets as loaded

    loaded._LOADED.clear()
    del reward, backends
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return out


def measure_train(
    paths: dict[str, Path], preset: Path, work: Path, images: Path, device: str, smoke: bool
) -> dict:
    cfg = work / "train.json"
    cfg.write_text(
        json.dumps(
            {
                "policy": str(paths["captioner"]),
                "preset": str(preset),
                "data": str(images),
                "captions_per_step": 2 if smoke else 64,
                "micro_batch": 2 if smoke else 16,
                "max_new_tokens": 8 if smoke else 20,
                "probe_every": 0,
                "checkpoint_every": 0,
                "device": device,
                "reward_dtype": "bf16",
                "policy_dtype": "fp32" if smoke else "bf16",
            }
        )
    )
    out = work / "train_run"
    shutil.rmtree(out, ignore_errors=True)
    run = rewardkit_measured(
        # the vlrm training defaults, with the reward from the benchmark's preset file (set in the config)
        ["train", "--preset", "vlrm", "--config", str(cfg), "--steps", "1", "--out", str(out), "-q"],
        900,
    )
    metrics = out / "metrics.jsonl"
    if metrics.is_file():
        run["metrics"] = json.loads(metrics.read_text().splitlines()[-1])
    return run


@torch.inference_mode()
def measure_generation(path: Path, images: list[Path], device: str, batch: int) -> dict:
    from PIL import Image

    from rewardkit.backends.blip2_captioner import Blip2Captioner

    t0 = time.time()
    cap = Blip2Captioner(str(path), device=device, dtype="bf16", batch_size=batch)
    load = time.time() - t0
    ims = []
    for p in images:
        with Image.open(p) as im:
            ims.append(im.convert("RGB"))
    cap.caption(ims[:batch], max_new_tokens=20)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    texts = cap.caption(ims, max_new_tokens=20)
    _sync(device)
    sec = time.perf_counter() - t0
    out = {
        "images": len(ims),
        "load_seconds": load,
        "seconds": sec,
        "images_per_s": len(ims) / sec,
        "settings": "VLRM Table 2 decoding (Blip2Captioner defaults) with max_new_tokens 20",
        "example": texts[0][:80],
    }
    if device.startswith("cuda"):
        out["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
    del cap
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return out


def measure_serve(preset: Path, work: Path, smoke: bool) -> dict:
    """``benchmarks/bench_serve.py`` on this machine with the benchmark's preset (no Ray run here)."""
    script = HERE / "bench_serve.py"
    if not script.is_file():
        return {"skipped": "benchmarks/bench_serve.py is not in this checkout (the serve load test)"}
    out = work / "serve.json"
    out.unlink(missing_ok=True)
    size = ["--clients", "4", "--requests", "2", "--rounds", "1"] if smoke else []
    args = [
        sys.executable,
        str(script),
        "--preset",
        str(preset),
        "--ray-replicas",
        "0",
        "--out",
        str(out),
        *size,
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    result: dict = {"how": " ".join(args[1:]), "code": proc.returncode}
    if out.is_file():
        result.update(json.loads(out.read_text()))
    else:
        result["stderr_tail"] = proc.stderr[-1500:]
    return result


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny configs on CPU, the same path (~1 min)")
    ap.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    ap.add_argument(
        "--cache", type=Path, default=None, help="built checkpoints (default: a folder under /tmp)"
    )
    ap.add_argument("--out", type=Path, default=None, help="the result JSON")
    ap.add_argument("--rows", type=int, default=None, help="rows scored (default 512; 12 with --smoke)")
    ap.add_argument("--wheels", type=Path, default=HERE / "wheels", help="local wheels for missing packages")
    ap.add_argument(
        "--skip", default="", help="comma list of parts to skip: score,bare,train,generation,serve"
    )
    args = ap.parse_args(argv)
    smoke = args.smoke
    device = args.device or ("cpu" if smoke else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; use --smoke for the CPU run", file=sys.stderr)
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    cache = args.cache or Path("/tmp") / ("rk_gpu_check_smoke" if smoke else "rk_gpu_check")
    out = args.out or (HERE / "results" / ("gpu_check_smoke.json" if smoke else "gpu_check.json"))
    n_rows = args.rows or (12 if smoke else 512)
    batch = 4 if smoke else 64
    start = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    result: dict = {"smoke": smoke, "device": device, "dtype": "bf16", "rows": n_rows, "batch_size": batch}

    def save() -> None:  # after every part: a timeout loses nothing measured
        result["total_seconds"] = time.time() - start
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

    result["packages"] = ensure_packages(args.wheels, log)
    with_clip = "open_clip_torch" not in result["packages"]["missing"]
    if not with_clip:
        real._vocab = _fallback_vocab  # open_clip's BPE file gave the word list
        result["evaluator_skipped"] = "open_clip_torch is not installed and no wheel was found (--wheels)"
    result["environment"] = environment(device)
    t0 = time.time()
    paths = build_models(cache, smoke, with_clip, device, log)
    result["build_seconds"] = time.time() - t0
    work = cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    preset = preset_file(paths, work, smoke, with_clip)
    images = photo_like_jpegs(cache / "images", n_rows)
    save()
    if "score" not in skip:
        log("score")
        result["score"] = measure_score(preset, work, images, device, batch, small=batch)
        save()
    if "bare" not in skip:
        log("bare forwards")
        result["bare_forwards"] = measure_bare(preset, images, device, batch)
        rk = result.get("score", {}).get("captions_per_s")
        bare = result["bare_forwards"].get("all_models_captions_per_s")
        if rk and bare:
            result["score_vs_bare_forwards"] = rk / bare
        save()
    if "train" not in skip:
        log("train step")
        result["train_step"] = measure_train(paths, preset, work, cache / "images", device, smoke)
        save()
    if "generation" not in skip:
        log("generation")
        n_gen = 2 if smoke else 64
        result["generation"] = measure_generation(
            paths["captioner"], images[:n_gen], device, 2 if smoke else 16
        )
        save()
    if "serve" not in skip:
        log("serve")
        result["serve"] = measure_serve(preset, work, smoke)
    result["under_8_minutes"] = time.time() - start < 480
    save()
    log(f"wrote {out}")
    failed = [
        k for k in ("score", "train_step") if k in result and any(r.get("code") for r in _runs(result[k]))
    ]
    if failed:
        log(f"failed: {', '.join(failed)} (see {out})")
    return 1 if failed else 0


def _runs(part: dict) -> list[dict]:
    return list(part.get("runs", {}).values()) if "runs" in part else [part]


if __name__ == "__main__":
    sys.exit(main())

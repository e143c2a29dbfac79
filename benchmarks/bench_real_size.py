"""The paper's models at their real size, with random weights: do `score`, `bench` and `train` run, how fast, in how much memory?

No weights can be downloaded here, so the architectures are built from their published
configurations (below, with their sources), given random weights, and saved once as local bf16
checkpoints in ``--cache``. The real commands then run on them through preset files that point at
those folders:

  score vlrm     BLIP-2 ITM (ViT-g, 1.2B) + OPT-2.7B ref + ViT-g-14 evaluator, on --rows rows
  score vlrm-rs  BLIP-2 ITM + ViT-bigG-14 Φ (2.5B), ViT-g-14 evaluator
  bench          BLIP-2 OPT-2.7B (3.8B) captions --images images (VLRM Table 2 decoding, bf16)
  refcopy        what a second OPT-2.7B would cost: the trainer's ref shares the policy's frozen LM
  train          rewardkit train --preset vlrm --steps 1 with a micro-batch of 2 (rewards in bf16)

Per command: wall time and peak RSS (of a fresh process running it); per reward component, the
toolkit's time on the rows against the bare model forward on the same inputs (preprocessing
included), i.e. rewardkit's overhead, and its peak memory alone (a fresh process loading only it). Tokenizers are word-level stand-ins with the real
vocabulary sizes (the real BPE files cannot be fetched), so token counts are close to, not equal
to, the real ones. Results: benchmarks/results/real_size.json.

The ref checkpoint is the captioner's own language model saved alone (as facebook/opt-2.7b is
BLIP-2 OPT-2.7B's frozen LM), so the trainer shares it as it would the real checkpoints. A run
with a subset of --components updates only those entries of an existing result file.

Run: python benchmarks/bench_real_size.py [--components itm,ref,evaluator,phi,bench,refcopy,train] [--rows 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

# Published configurations (Hugging Face config.json of each checkpoint; open_clip's model_configs).
OPT_2_7B = {  # facebook/opt-2.7b
    "hidden_size": 2560,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "ffn_dim": 10240,
    "vocab_size": 50272,
    "max_position_embeddings": 2048,
    "word_embed_proj_dim": 2560,
    "do_layer_norm_before": True,
    "pad_token_id": 1,
    "bos_token_id": 2,
    "eos_token_id": 2,
}
BLIP2_VISION = {  # EVA ViT-g/14 of Salesforce/blip2-* (Blip2VisionConfig defaults)
    "hidden_size": 1408,
    "intermediate_size": 6144,
    "num_hidden_layers": 39,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
}
BLIP2_QFORMER = {  # BERT-base Q-Former; the ITM checkpoints add a [DEC] token (vocab 30523)
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "cross_attention_frequency": 2,
    "encoder_hidden_size": 1408,
}
IMAGE_TOKEN_INDEX = 50265  # Salesforce/blip2-opt-2.7b's "<image>" token
OPENCLIP = {"evaluator": "ViT-g-14", "phi": "ViT-bigG-14"}  # open_clip model_configs, random init
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]


def _vocab(size: int, specials: list[str]) -> list[str]:
    """A word-level vocabulary of ``size`` entries: specials, then words of open_clip's BPE vocabulary."""
    import gzip

    import open_clip

    path = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    words: list[str] = []
    seen = set(specials)
    for line in gzip.open(path, "rt", encoding="utf-8").read().split("\n")[1:]:
        for part in line.split():
            w = part.replace("</w>", "")
            if w.isalpha() and w not in seen:
                seen.add(w)
                words.append(w)
    vocab = specials + words
    vocab += [f"tok{i}" for i in range(size - len(vocab))]
    return vocab[:size]


def _tokenizer(vocab: list[str], style: str) -> object:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(
        models.WordLevel(
            {w: i for i, w in enumerate(vocab)}, unk_token="[UNK]" if style == "bert" else "<unk>"
        )
    )
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    if style == "bert":
        cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="</s>",
        eos_token="</s>",
        additional_special_tokens=["<image>"],
    )


def _bert_tokenizer() -> object:
    return _tokenizer(_vocab(30523, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]), "bert")


def _opt_tokenizer() -> object:
    vocab = _vocab(50272, ["<s>", "<pad>", "</s>", "<unk>"])
    vocab[IMAGE_TOKEN_INDEX] = "<image>"
    return _tokenizer(vocab, "causal")


def _save(model: torch.nn.Module, out: Path, tokenizer: object, processor: object | None) -> None:
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if processor is not None:
        processor.save_pretrained(out)


def _image_processor() -> object:
    from transformers import BlipImageProcessor

    return BlipImageProcessor(size={"height": 224, "width": 224}, image_mean=CLIP_MEAN, image_std=CLIP_STD)


def build(cache: Path, needed: set[str], log=print) -> dict[str, Path]:
    """Random-weight bf16 checkpoints of every needed architecture, built once into ``cache``."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2ForImageTextRetrieval,
        OPTConfig,
        OPTForCausalLM,
    )

    cache.mkdir(parents=True, exist_ok=True)
    paths = {
        "itm": cache / "blip2-itm-vit-g",
        "ref": cache / "opt-2.7b",
        "captioner": cache / "blip2-opt-2.7b",
        "evaluator": cache / "open_clip-ViT-g-14.safetensors",
        "phi": cache / "open_clip-ViT-bigG-14.safetensors",
    }
    if "ref" in needed:  # OPT-2.7B is BLIP-2's frozen LM: the ref checkpoint is the captioner's own LM
        needed = needed | {"captioner"}
    torch.set_default_dtype(torch.bfloat16)
    try:
        for name in sorted(needed, key=lambda n: n != "captioner"):
            path = paths[name]
            if path.exists():
                continue
            t0 = time.time()
            torch.manual_seed(0)
            if name == "itm":
                cfg = Blip2Config(
                    vision_config=BLIP2_VISION,
                    qformer_config={**BLIP2_QFORMER, "vocab_size": 30523, "use_qformer_text_input": True},
                    num_query_tokens=32,
                    image_text_hidden_size=256,
                )
                _save(Blip2ForImageTextRetrieval(cfg), path, _bert_tokenizer(), _image_processor())
            elif name == "ref":  # the captioner's language model, saved on its own (as facebook/opt-2.7b is)
                from safetensors import safe_open

                with safe_open(str(paths["captioner"] / "model.safetensors"), framework="pt") as f:
                    state = {
                        k.removeprefix("language_model."): f.get_tensor(k)
                        for k in f.keys()
                        if k.startswith("language_model.")
                    }
                with torch.device("meta"):
                    lm = OPTForCausalLM(OPTConfig(**OPT_2_7B))
                lm.load_state_dict(state, assign=True, strict=False)
                lm.tie_weights()
                _save(lm, path, _opt_tokenizer(), None)
                del state, lm
            elif name == "captioner":
                cfg = Blip2Config(
                    vision_config=BLIP2_VISION,
                    qformer_config=BLIP2_QFORMER,
                    text_config=OPT_2_7B,
                    num_query_tokens=32,
                    image_token_index=IMAGE_TOKEN_INDEX,
                )
                _save(Blip2ForConditionalGeneration(cfg), path, _opt_tokenizer(), _image_processor())
            else:
                import open_clip
                from safetensors.torch import save_file

                model = open_clip.create_model(OPENCLIP[name], pretrained=None)
                save_file(
                    {k: v.to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}, str(path)
                )
            log(f"built {name} in {time.time() - t0:.0f} s -> {path}")
    finally:
        torch.set_default_dtype(torch.float32)
    return paths


def presets(paths: dict[str, Path], folder: Path) -> dict[str, Path]:
    """Preset files pointing the vlrm and vlrm-rs presets at the local checkpoints."""
    models = {
        "itm": {"backend": "blip2_itm", "checkpoint": str(paths["itm"])},
        "lm": {"backend": "causal_lm", "checkpoint": str(paths["ref"])},
        "clip-g": {"backend": "open_clip", "checkpoint": "ViT-g-14", "pretrained": str(paths["evaluator"])},
        "clip-bigg": {"backend": "open_clip", "checkpoint": "ViT-bigG-14", "pretrained": str(paths["phi"])},
    }
    penalties = [{"reward": "bad"}, {"reward": "repeat"}, {"reward": "noeos"}]
    specs = {
        "vlrm": {
            "components": [
                {"name": "itm", "reward": "itm", "model": "itm"},
                {"name": "ref", "reward": "ref", "model": "lm"},
                *penalties,
            ],
            "evaluator": "clip-g",
        },
        "vlrm-rs": {
            "components": [
                {"name": "itm", "reward": "itm", "model": "itm"},
                {"name": "phi", "reward": "phi", "model": "clip-bigg", "weight": 0.3},
                *penalties,
            ],
            "evaluator": "clip-g",
        },
    }
    out = {}
    for name, spec in specs.items():
        used = {c.get("model") for c in spec["components"]} | {spec["evaluator"]}
        path = folder / f"{name}-real-size.json"
        path.write_text(
            json.dumps(
                {
                    "name": f"{name}-real-size",
                    "models": {k: v for k, v in models.items() if k in used},
                    **spec,
                }
            )
        )
        out[name] = path
    return out


def rows_file(folder: Path, n: int) -> Path:
    """``n`` rows over ``n`` distinct 640x480 images (COCO-sized), captions of COCO length."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    captions = [
        "a man riding a wave on top of a surfboard",
        "two dogs playing with a frisbee in a grassy park",
        "a plate of food with broccoli and rice on a table",
        "a red double decker bus driving down a city street",
    ]
    rows = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        rows.append(
            {
                "id": f"r{i}",
                "image": f"img{i}.png",
                "caption": captions[i % 4],
                "references": [captions[(i + 1) % 4]],
            }
        )
    path = folder / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_measured(args: list[str], keep_output: bool = False) -> dict:
    """A command in a fresh process: wall time, peak RSS (GB), exit code (and its output's last lines)."""
    wrapper = (
        "import resource, subprocess, sys, json, time; t=time.time(); "
        "r=subprocess.run(sys.argv[1:]); "
        "print(json.dumps({'code': r.returncode, 'seconds': time.time()-t, "
        "'peak_rss_gb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024/1024}))"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True)
    last = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    out = json.loads(last[-1]) if last else {"code": proc.returncode}
    if out.get("code"):
        out["stderr"] = proc.stderr[-1500:]
    if keep_output:
        out["output"] = [x for x in (proc.stdout + proc.stderr).splitlines() if x and not x.startswith("{")][
            -12:
        ]
    return out


def component_times(preset: Path, rows: Path, device: str, batch_size: int) -> dict:
    """Each component: rewardkit's time on the rows vs the bare model forward on the same inputs."""
    from PIL import Image

    from rewardkit.presets import build_evaluator, build_reward
    from rewardkit.scoring.rows import read_rows

    good, _ = read_rows(rows)
    images = [Image.open(r.image).convert("RGB") for r in good]
    caps = [r.caption for r in good]
    out = {}
    t0 = time.time()
    reward = build_reward(str(preset), device=device, dtype="bf16", batch_size=batch_size)
    out["load_seconds"] = time.time() - t0
    for comp in reward.components:
        backend = getattr(comp.reward, "backend", None)
        if backend is None:
            continue
        for cache in ("cache",):
            if hasattr(backend, cache):
                backend.cache._memory.clear() if hasattr(backend.cache, "_memory") else None
        t0 = time.time()
        comp.reward.score(caps, images=images)
        toolkit = time.time() - t0
        bare = _bare(backend, comp.name, caps, images)
        out[comp.name] = {
            "seconds": toolkit,
            "captions_per_s": len(caps) / toolkit,
            "bare_seconds": bare,
            "overhead_ratio": toolkit / bare if bare else None,
        }
    evaluator = build_evaluator(str(preset), device=device, dtype="bf16", batch_size=batch_size)
    t0 = time.time()
    evaluator.encode_images(images, None)
    evaluator.encode_texts(caps)
    sec = time.time() - t0
    out["evaluator"] = {"seconds": sec, "captions_per_s": len(caps) / sec}
    from rewardkit import presets as _presets

    _presets._LOADED.clear()  # free the models before the next, memory-bound command
    return out


def ref_copy_cost(path: Path, device: str) -> dict:
    """What a second OPT-2.7B (bf16) costs when ``ref`` does not share the policy's LM: load time, its weights, RSS growth after one forward (weights are memory-mapped until touched)."""
    code = (
        "import json, time, resource, sys; import torch; "
        "from rewardkit.backends.causal_lm import CausalLMBackend; "
        "f=lambda: int(open('/proc/self/statm').read().split()[1])*4096/2**30; "
        "a=f(); t=time.time(); b=CausalLMBackend(sys.argv[1], device=sys.argv[2], dtype='bf16'); "
        "l=time.time()-t; b.mean_logprob(['a man riding a bike down the street']); "
        "print(json.dumps({'load_seconds': l, 'rss_growth_gb': f()-a, "
        "'weights_gb': sum(p.numel()*p.element_size() for p in b.model.parameters())/2**30, "
        "'params_b': sum(p.numel() for p in b.model.parameters())/1e9}))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path), device], capture_output=True, text=True)
    last = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    return json.loads(last[-1]) if last else {"error": proc.stderr[-800:]}


_COMPONENT_MEMORY = """
import json, resource, sys
from pathlib import Path
from PIL import Image
from rewardkit.presets import build_evaluator, build_reward
preset, rows, device, bs, name = sys.argv[1:6]
good = [json.loads(x) for x in Path(rows).read_text().splitlines() if x.strip()]
images = [Image.open(Path(rows).parent / r["image"]).convert("RGB") for r in good]
caps = [r["caption"] for r in good]
def peak_gb():
    # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over fork + exec)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
before = peak_gb()
if name == "evaluator":
    ev = build_evaluator(preset, device=device, dtype="bf16", batch_size=int(bs))
    ev.encode_images(images, None)
    ev.encode_texts(caps)
else:
    build_reward(preset, only=[name], device=device, dtype="bf16", batch_size=int(bs)).score(caps, images=images)
print(json.dumps({"peak_rss_gb": peak_gb(),
                  "rss_before_loading_gb": before}))
"""


def component_peak_memory(preset: Path, rows: Path, device: str, batch_size: int, name: str) -> dict:
    """One component alone in a fresh process (load + score the rows): its peak RSS (and GPU memory on CUDA)."""
    code = _COMPONENT_MEMORY
    if device.startswith("cuda"):
        code += (
            "import torch; print(json.dumps({'peak_gpu_gb': torch.cuda.max_memory_allocated() / 2**30}))\n"
        )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(preset), str(rows), device, str(batch_size), name],
        capture_output=True,
        text=True,
    )
    out: dict = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out or {"error": proc.stderr[-800:]}


@torch.inference_mode()
def _bare(backend, name: str, caps: list[str], images: list) -> float:
    """The model forward alone on the same inputs (preprocessing included), no caches or rewardkit logic."""
    t0 = time.time()
    if name == "ref":
        tok = backend.tokenizer(caps, return_tensors="pt", padding=True)
        backend.model(**{k: v.to(backend.device) for k, v in tok.items()})
    elif name == "itm":
        pix = backend.image_processor(images=images, return_tensors="pt")["pixel_values"].to(
            backend.device, backend.dtype
        )
        text = backend.tokenizer(caps, return_tensors="pt", padding=True, truncation=True, max_length=32)
        backend.model(
            pixel_values=pix,
            input_ids=text["input_ids"].to(backend.device),
            attention_mask=text["attention_mask"].to(backend.device),
            use_image_text_matching_head=True,
        )
    else:  # open_clip
        pix = torch.stack([backend.preprocess(im) for im in images]).to(backend.device, backend.dtype)
        backend.model.encode_image(pix)
        backend.model.encode_text(backend.tokenizer(caps).to(backend.device))
    return time.time() - t0


ALL_COMPONENTS = ("itm", "ref", "evaluator", "phi", "bench", "refcopy", "train")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", default=",".join(ALL_COMPONENTS))
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--policy-dtype",
        default="fp32",
        help="train: the policy's dtype (fp32: bf16 backward is ~12x slower on CPUs without native bf16)",
    )
    ap.add_argument(
        "--memory-only",
        action="store_true",
        help="Only each component's peak memory (a fresh process per component), merged into --result",
    )
    ap.add_argument("--cache", type=Path, default=Path("runs/real_size_cache"))
    ap.add_argument("--result", type=Path, default=Path(__file__).parent / "results" / "real_size.json")
    args = ap.parse_args()
    wanted = {c.strip() for c in args.components.split(",") if c.strip()}
    needed = (
        {"itm", "evaluator"}
        | ({"ref"} if {"ref", "train", "refcopy"} & wanted else set())
        | ({"phi"} if "phi" in wanted else set())
        | ({"captioner"} if {"bench", "train"} & wanted else set())
    )
    t0 = time.time()
    paths = build(args.cache, needed)
    work = args.cache / "work"
    work.mkdir(exist_ok=True)
    files = presets(paths, work)
    rows = rows_file(work, args.rows)
    rk = [sys.executable, "-m", "rewardkit"]
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "device": args.device,
        "dtype": "bf16",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": __import__("os").cpu_count()},
        "rows": args.rows,
        "build_seconds": time.time() - t0,
        "commands": {},
        "components": {},
    }

    previous: dict = {}
    if args.result.is_file() and wanted != set(ALL_COMPONENTS):  # a subset run updates the record it measured
        try:
            previous = json.loads(args.result.read_text())
        except ValueError:
            previous = {}

    def save() -> None:  # after every measurement: a timeout or a kill loses nothing measured
        merged = {**previous, **{k: v for k, v in result.items() if k not in ("commands", "components")}}
        for key in ("commands", "components"):
            merged[key] = {**previous.get(key, {}), **result[key]}
        args.result.parent.mkdir(parents=True, exist_ok=True)
        args.result.write_text(json.dumps(merged, indent=2) + "\n")

    common = [
        "--device",
        args.device,
        "--dtype",
        "bf16",
        "--batch-size",
        str(args.rows),
        "-q",
        "--allow-outside-root",
    ]
    if args.memory_only:
        record = json.loads(args.result.read_text()) if args.result.is_file() else {"components": {}}
        for name in ("itm", "ref", "evaluator", "phi"):
            if name not in wanted:
                continue
            key = "vlrm-rs" if name == "phi" else "vlrm"
            t = time.time()
            measured = component_peak_memory(files[key], rows, args.device, args.rows, name)
            measured["memory_run_seconds"] = time.time() - t
            record.setdefault("components", {}).setdefault(key, {}).setdefault(name, {}).update(measured)
            record["per_component_peak_memory"] = {
                "status": "measured",
                "date": time.strftime("%Y-%m-%d"),
                "how": "python benchmarks/bench_real_size.py --memory-only --components "
                + ",".join(sorted(wanted))
                + ": each component built from its preset file and run on the rows alone in a fresh "
                "process (load + score); peak_rss_gb is that process's own high-water mark (VmHWM; ru_maxrss would carry the parent's over fork + exec), rss_before_loading_gb "
                "its RSS after imports (bf16 weights, CPU)",
            }
            args.result.write_text(json.dumps(record, indent=2) + "\n")
            print(name, measured, flush=True)
        return
    if wanted & {"itm", "ref", "evaluator"}:
        result["commands"]["score vlrm"] = run_measured(
            [*rk, "score", str(rows), "--preset", str(files["vlrm"]), "-o", str(work / "vlrm.jsonl"), *common]
        )
        result["components"]["vlrm"] = component_times(files["vlrm"], rows, args.device, args.rows)
        for name in ("itm", "ref", "evaluator"):  # each alone, so its peak is its own
            result["components"]["vlrm"][name].update(
                component_peak_memory(files["vlrm"], rows, args.device, args.rows, name)
            )
    save()
    if "phi" in wanted:
        result["commands"]["score vlrm-rs"] = run_measured(
            [
                *rk,
                "score",
                str(rows),
                "--preset",
                str(files["vlrm-rs"]),
                "-o",
                str(work / "vlrm-rs.jsonl"),
                *common,
            ]
        )
    save()
    if "bench" in wanted:
        captions = work / "bench_rows.jsonl"
        captions.write_text(
            "".join(
                json.dumps({"id": f"b{i}", "image": str(work / f"img{i}.png"), "caption": "x"}) + "\n"
                for i in range(args.images)
            )
        )
        t = time.time()
        from PIL import Image

        from rewardkit.backends.blip2_captioner import Blip2Captioner

        cap = Blip2Captioner(
            str(paths["captioner"]), device=args.device, dtype="bf16", batch_size=args.images
        )
        load = time.time() - t
        ims = [Image.open(work / f"img{i}.png").convert("RGB") for i in range(args.images)]
        t = time.time()
        texts = cap.caption(ims, max_new_tokens=20)
        gen = time.time() - t
        result["components"]["bench_generation"] = {
            "load_seconds": load,
            "seconds": gen,
            "images_per_s": args.images / gen,
            "settings": "VLRM Table 2 (beam 5, no_repeat_ngram_size 2, min_new_tokens 4) with max_new_tokens 20",
            "example": texts[0][:80],
        }
        del cap
    save()
    if "refcopy" in wanted:
        result["components"]["ref_separate_copy"] = ref_copy_cost(paths["ref"], args.device)
    save()
    if "train" in wanted:
        cfg = work / "train.json"
        cfg.write_text(
            json.dumps(
                {
                    "policy": str(paths["captioner"]),
                    "preset": str(files["vlrm"]),
                    "captions_per_step": 2,
                    "micro_batch": 2,
                    "max_new_tokens": 12,
                    "probe_every": 0,
                    "checkpoint_every": 0,
                    "device": args.device,
                    "reward_dtype": "bf16",
                    "policy_dtype": args.policy_dtype,
                }
            )
        )
        out = work / "train_run"
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        result["commands"][f"train vlrm --steps 1 ({args.policy_dtype} policy)"] = run_measured(
            [*rk, "train", "--preset", "vlrm", "--config", str(cfg), "--steps", "1", "--out", str(out)],
            keep_output=True,
        )
        metrics = out / "metrics.jsonl"
        if metrics.is_file():
            result["components"]["train_step"] = json.loads(metrics.read_text().splitlines()[-1])
    save()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Scoring throughput: rewardkit's CLIP reward vs the bare forward passes and torchmetrics' CLIPScore.

2,000 captions over 400 images (5 captions per image), one CLIP model shared by all three paths:
  (a) bare: each distinct image and each caption through the model once, preprocessing included;
  (b) torchmetrics.multimodal.CLIPScore fed the same (image, caption) pairs batch by batch;
  (c) rewardkit: rewards.vision.CLIPScore over the rows, images deduplicated by content key.
Targets: (c)/(a) <= 1.15 and (b)/(c) >= 3 at 5 captions per image.

The model is a randomly initialised transformers CLIP with ViT-B/32 shapes (fewer layers by default,
to fit 2 CPU cores) and the real 49,408-token CLIP BPE vocabulary; ``--model DIR`` uses a local
checkpoint instead. Speed depends on shapes, not weights. Run: python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def build_model(out: Path, layers: int) -> Path:
    """A random CLIP with ViT-B/32 widths and the real CLIP BPE tokenizer, saved with save_pretrained."""
    import gzip

    from open_clip.tokenizer import default_bpe
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizerFast

    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": layers,
            "num_attention_heads": 8,
            "max_position_embeddings": 77,
        },
        vision_config={
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": layers,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 32,
        },
        projection_dim=512,
    )
    CLIPModel(cfg).save_pretrained(out)
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(_bytes_to_unicode().values())
    vocab = (
        vocab
        + [v + "</w>" for v in vocab]
        + ["".join(m) for m in merges]
        + ["<|startoftext|>", "<|endoftext|>"]
    )
    (out / "vocab.json").write_text(json.dumps({v: i for i, v in enumerate(vocab)}))
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    # transformers 5 takes the vocabulary and merges themselves; given only file names it silently
    # builds a 3-token vocabulary that maps every character to <|endoftext|> (an earlier run of this
    # benchmark measured that: ~4x too many text tokens).
    tok = CLIPTokenizerFast(vocab={v: i for i, v in enumerate(vocab)}, merges=merges)
    assert len(tok) == 49408 and tok.tokenize("a man") == ["a</w>", "man</w>"], "CLIP BPE not loaded"
    tok.save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(
        out
    )
    return out


def _bytes_to_unicode() -> dict[int, str]:
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def make_data(n_images: int, per_image: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)) for _ in range(n_images)]
    words = "a man woman dog cat red green blue shirt car tree small large on in with near the of two".split()
    captions = [" ".join(rng.choice(words, size=rng.integers(5, 16))) for _ in range(n_images * per_image)]
    index = [i // per_image for i in range(n_images * per_image)]
    return images, captions, index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", type=Path, help="local transformers CLIP checkpoint (default: build a random one)"
    )
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--per-image", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_scoring.json")
    args = ap.parse_args()

    import tempfile

    from torchmetrics.multimodal import CLIPScore as TMCLIPScore
    from transformers import CLIPModel, CLIPProcessor

    from rewardkit.backends.hf_clip import HFCLIPBackend
    from rewardkit.rewards.vision import CLIPScore

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tmp = tempfile.TemporaryDirectory()
    model_dir = args.model or build_model(Path(tmp.name) / "clip", args.layers)
    images, captions, index = make_data(args.images, args.per_image)
    rows_images = [images[i] for i in index]
    keys = [str(i) for i in index]
    bs = args.batch_size

    model = CLIPModel.from_pretrained(model_dir).eval()
    processor = CLIPProcessor.from_pretrained(model_dir)

    def bare() -> list[float]:
        with torch.inference_mode():
            img = []
            for s in range(0, len(images), bs):
                px = processor(images=images[s : s + bs], return_tensors="pt")["pixel_values"]
                img.append(
                    torch.nn.functional.normalize(
                        model.get_image_features(pixel_values=px).pooler_output, dim=-1
                    )
                )
            txt = []
            for s in range(0, len(captions), bs):
                enc = processor(
                    text=captions[s : s + bs],
                    padding=True,
                    truncation=True,
                    max_length=77,
                    return_tensors="pt",
                )
                txt.append(
                    torch.nn.functional.normalize(model.get_text_features(**enc).pooler_output, dim=-1)
                )
            img_t, txt_t = torch.cat(img), torch.cat(txt)
            return (2.5 * (img_t[torch.tensor(index)] * txt_t).sum(-1).clamp(min=0)).tolist()

    class TensorFeatures(torch.nn.Module):
        """transformers 5 returns output objects from get_*_features; torchmetrics 1.x expects tensors."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner
            self.config = inner.config

        def get_image_features(self, *a, **k):
            return self.inner.get_image_features(*a, **k).pooler_output

        def get_text_features(self, *a, **k):
            return self.inner.get_text_features(*a, **k).pooler_output

    def torchmetrics_run() -> float:
        metric = TMCLIPScore(model_name_or_path=lambda: (TensorFeatures(model), processor))
        with torch.inference_mode():
            for s in range(0, len(captions), bs):
                tensors = [
                    torch.from_numpy(np.asarray(im)).permute(2, 0, 1) for im in rows_images[s : s + bs]
                ]
                metric.update(tensors, captions[s : s + bs])
        return float(metric.compute())

    backend = HFCLIPBackend(str(model_dir), device="cpu", batch_size=bs)
    reward = CLIPScore(backend, prompt="")

    def rewardkit_run() -> list[float]:
        backend.cache._memory.clear()
        out = []
        for s in range(0, len(captions), 500):  # the scorer's row batches
            out += reward.score(
                captions[s : s + 500], images=rows_images[s : s + 500], image_keys=keys[s : s + 500]
            )
        return out

    def timed(fn):
        t = time.perf_counter()
        result = fn()
        return time.perf_counter() - t, result

    timed(lambda: bare())  # warm-up
    t_bare, ref_scores = timed(bare)
    t_rk, rk_scores = timed(rewardkit_run)
    t_tm, _ = timed(torchmetrics_run)
    max_diff = float(np.max(np.abs(np.array(ref_scores) - np.array(rk_scores))))
    n = len(captions)
    result = {
        "captions": n,
        "images": args.images,
        "captions_per_image": args.per_image,
        "model": str(args.model or f"random CLIP ViT-B/32 widths, {args.layers} layers per tower"),
        "torch_threads": torch.get_num_threads(),
        "seconds": {"bare_forward": t_bare, "rewardkit": t_rk, "torchmetrics": t_tm},
        "captions_per_second": {"bare_forward": n / t_bare, "rewardkit": n / t_rk, "torchmetrics": n / t_tm},
        "ratio_rewardkit_over_bare": t_rk / t_bare,
        "speedup_vs_torchmetrics": t_tm / t_rk,
        "max_abs_diff_rewardkit_vs_bare": max_diff,
        "targets": {"ratio_rewardkit_over_bare_max": 1.15, "speedup_vs_torchmetrics_min": 3.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"captions/s  bare {n / t_bare:8.1f}  rewardkit {n / t_rk:8.1f}  torchmetrics {n / t_tm:8.1f}")
    print(f"rewardkit / bare time      = {t_rk / t_bare:.3f}  (target <= 1.15)")
    print(f"torchmetrics / rewardkit   = {t_tm / t_rk:.2f}x (target >= 3)")
    print(f"max |score diff| vs bare   = {max_diff:.2e}")


if __name__ == "__main__":
    main()

"""Benchmarks by name: the items (image, references, style) a captioner is evaluated on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError


@dataclass
class BenchItem:
    """One image to caption, with its references (and ESP style)."""

    id: str
    image: Path
    references: list[str] = field(default_factory=list)
    style: str | None = None


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: how to load it, the CLIP model that evaluates it, and its decoding changes."""

    name: str
    evaluator: str
    description: str
    offline: bool = False
    generation: dict[str, Any] = field(default_factory=dict)  # over VLRM Table 2 settings
    chat_prompt: str = "Provide a one-sentence caption for the provided image."  # lmms-eval's, for hf: models
    chat_max_new_tokens: int = 64  # lmms-eval's token cap for the task
    loader: str = (
        ""  # "module:attr" of ``f(data_dir, limit) -> list[BenchItem]`` (offline: ``f(work, limit, seed)``)
    )
    kind: str = "captioning"


BENCHMARKS = {
    "coco-karpathy-test": BenchmarkSpec(
        "coco-karpathy-test",
        "clip-vit-g-14",
        "MS-COCO Karpathy test split, 5,000 images x 5 references (VLRM Table 3)",
        loader="rewardkit.bench.benchmarks:coco_karpathy_items",
    ),
    "nocaps-val": BenchmarkSpec(
        "nocaps-val",
        "clip-vit-g-14",
        "NoCaps validation, 4,500 Open Images x 10 references (lmms-eval nocaps_val)",
        chat_max_new_tokens=1024,
        loader="rewardkit.bench.benchmarks:nocaps_items",
    ),
    "flickr30k-test": BenchmarkSpec(
        "flickr30k-test",
        "clip-vit-g-14",
        "Flickr30k Karpathy test split, 1,000 images x 5 references (lmms-eval flickr30k_test)",
        loader="rewardkit.bench.benchmarks:flickr30k_items",
    ),
    "esp": BenchmarkSpec(
        "esp",
        "clip-vit-b-32",
        "ESP styled captions on 996 COCO val2014 images (ESPER)",
        loader="rewardkit.bench.benchmarks:esp_items",
    ),
    "toy": BenchmarkSpec(
        "toy",
        "toy-clip",
        "toy world scenes generated from --seed (offline)",
        offline=True,
        generation={"no_repeat_ngram_size": 0},
        loader="rewardkit.bench.benchmarks:toy_benchmark_items",
    ),
    "toy-hard": BenchmarkSpec(
        "toy-hard",
        "toy-hard-clip",
        "toy-hard compositional split (held-out colour-shape and relation-shape pairs) from --seed (offline)",
        offline=True,
        generation={"no_repeat_ngram_size": 0, "max_new_tokens": 64},
        loader="rewardkit.bench.benchmarks:toy_hard_benchmark_items",
    ),
}
TOY_BENCHMARKS = {"toy": "toy", "toy-hard": "hard"}
"""Offline toy benchmarks and their tier."""
"""``toy`` decodes with VLRM Table 2 settings except ``no_repeat_ngram_size``: the toy language
states every position as "in/at the <row> <column>", so a full description of three objects must
repeat a bigram and Table 2's ``no_repeat_ngram_size = 2`` forces it off-grammar (measured in
data_cards/toy-world.md)."""


def get_benchmark(name: str) -> BenchmarkSpec:
    """A captioning benchmark by name (from the registry), or an error listing them."""
    from rewardkit.registry import BENCHMARKS as REGISTERED
    from rewardkit.registry import benchmarks_of

    captioning = benchmarks_of("captioning")
    if name not in captioning:
        if name in REGISTERED:
            raise RewardkitError(
                f"{name!r} is a {REGISTERED.get(name).kind} benchmark of reward models (bench --reward); "
                f"captioning benchmarks: {', '.join(captioning)}"
            )
        raise RewardkitError(REGISTERED.unknown_message(name, captioning))
    return REGISTERED.get(name)


TOY_BENCH_SEED_OFFSET = 20_000
"""The toy benchmark's ``--seed s`` draws scenes from seed ``20_000 + s``: seeds 0-3 are the toy
models' training pools (seed 0 is toy CLIP's, so ``--seed 0`` used to evaluate on its training
scenes); see the overlap table in data_cards/toy-world.md."""


def toy_items(out: Path, n: int, seed: int, tier: str = "toy") -> list[BenchItem]:
    """``n`` toy scenes of benchmark seed ``seed`` (scene seed ``TOY_BENCH_SEED_OFFSET + seed``) written under ``out``."""
    from rewardkit.registry import TIERS
    from rewardkit.toy.dataset import make_set

    captions = make_set(n, TOY_BENCH_SEED_OFFSET + seed, out, TIERS.get(tier))
    rows = [json.loads(x) for x in captions.read_text().splitlines()]
    return [BenchItem(r["id"], out / r["image"], r["references"]) for r in rows]


def toy_benchmark_items(work: Path, limit: int | None, seed: int) -> list[BenchItem]:
    """The ``toy`` benchmark: ``limit`` (default 1,000) toy scenes of benchmark seed ``seed``."""
    return toy_items(work, limit or 1000, seed, TOY_BENCHMARKS["toy"])


def toy_hard_benchmark_items(work: Path, limit: int | None, seed: int) -> list[BenchItem]:
    """The ``toy-hard`` benchmark: ``limit`` (default 1,000) toy-hard scenes of benchmark seed ``seed``."""
    return toy_items(work, limit or 1000, seed, TOY_BENCHMARKS["toy-hard"])


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RewardkitError(
            f"{path}: not a readable {name} file ({' '.join(str(exc).split())[:120]})"
        ) from None


def karpathy_items(
    data_dir: Path, split_file: str, image_dir: str, name: str, limit: int | None = None
) -> list[BenchItem]:
    """The ``test`` images of a Karpathy split file (``dataset_coco.json``, ``dataset_flickr30k.json``) with their references."""
    split = data_dir / split_file
    if not split.is_file():
        raise RewardkitError(
            f"{name} needs {split} (Karpathy's split file, from the 'caption_datasets' archive) and the images under "
            f"{data_dir}/{image_dir}/; see data_cards/{name}.md"
        )
    data = _read_json(split, "Karpathy split")
    items = []
    for k, im in enumerate(data.get("images", []) if isinstance(data, dict) else []):
        if not isinstance(im, dict) or im.get("split") != "test":
            continue
        try:
            path = data_dir / im.get("filepath", image_dir) / im["filename"]
            refs = [s["raw"].strip() for s in im["sentences"]]
        except (KeyError, TypeError, AttributeError):
            raise RewardkitError(f"{split}: images[{k}] lacks 'filename' or 'sentences[].raw'") from None
        items.append(BenchItem(str(im.get("cocoid", im.get("imgid", im["filename"]))), path, refs))
    if not items:
        raise RewardkitError(f"{split}: no image with split 'test'")
    missing = [it.image for it in items[: limit or len(items)] if not it.image.is_file()]
    if missing:
        raise RewardkitError(
            f"{len(missing)} {name} images are missing, e.g. {missing[0]}; download them into {data_dir}"
        )
    return items[:limit] if limit else items


def coco_karpathy_items(data_dir: Path, limit: int | None = None) -> list[BenchItem]:
    """The 5,000 test images of the Karpathy split (``dataset_coco.json``) with their 5 references."""
    return karpathy_items(data_dir, "dataset_coco.json", "val2014", "coco-karpathy-test", limit)


def flickr30k_items(data_dir: Path, limit: int | None = None) -> list[BenchItem]:
    """The 1,000 test images of Karpathy's Flickr30k split (``dataset_flickr30k.json``) with their 5 references."""
    return karpathy_items(data_dir, "dataset_flickr30k.json", "flickr30k-images", "flickr30k-test", limit)


def nocaps_items(data_dir: Path, limit: int | None = None) -> list[BenchItem]:
    """NoCaps validation (``nocaps_val_4500_captions.json``, COCO format) with its 10 references per image."""
    ann = data_dir / "nocaps_val_4500_captions.json"
    if not ann.is_file():
        raise RewardkitError(
            f"nocaps-val needs {ann} (NoCaps' validation annotations) and the Open Images under {data_dir}/validation/ "
            f"or {data_dir}; see data_cards/nocaps-val.md"
        )
    data = _read_json(ann, "NoCaps annotation")
    try:
        refs: dict[Any, list[str]] = {}
        for a in data["annotations"]:
            refs.setdefault(a["image_id"], []).append(str(a["caption"]).strip())
        items = []
        for im in data["images"]:
            image = data_dir / "validation" / im["file_name"]
            if not image.is_file():
                image = data_dir / im["file_name"]
            items.append(BenchItem(str(im["id"]), image, refs.get(im["id"], [])))
    except (KeyError, TypeError):
        raise RewardkitError(
            f"{ann}: expected COCO format (images[].id/file_name, annotations[].image_id/caption)"
        ) from None
    items = items[:limit] if limit else items
    missing = [it.image for it in items if not it.image.is_file()]
    if missing:
        raise RewardkitError(
            f"{len(missing)} NoCaps images are missing, e.g. {missing[0]}; download them into {data_dir}"
        )
    return items


def esp_items(data_dir: Path, limit: int | None = None) -> list[BenchItem]:
    """ESP rows (one per image and style) with their single reference; images under ``data_dir``."""
    from rewardkit.metrics.esp import load_esp

    ann = data_dir / "dataset_v_0_2.json"
    if not ann.is_file():
        raise RewardkitError(
            f"esp needs {ann} (the ESP annotation file of ESPER) and COCO val2014 images in {data_dir} or "
            f"{data_dir}/val2014/; see data_cards/esp.md"
        )
    rows = load_esp(str(ann))
    items = []
    for r in rows:
        image = data_dir / r["image"]
        if not image.is_file():
            image = data_dir / "val2014" / r["image"]
        items.append(BenchItem(r["id"], image, r["references"], r["style"]))
    if limit:
        keep = list(dict.fromkeys(it.image for it in items))[:limit]
        items = [it for it in items if it.image in set(keep)]
    missing = [it.image for it in items if not it.image.is_file()]
    if missing:
        raise RewardkitError(
            f"{len(missing)} ESP images are missing, e.g. {missing[0]}; download COCO val2014 into {data_dir}"
        )
    return items


def load_items(
    name: str, *, data_dir: Path | None, work: Path, limit: int | None, seed: int
) -> list[BenchItem]:
    """The items of a benchmark through its registered loader (an offline benchmark's scenes are drawn into ``work``)."""
    from rewardkit.registry import resolve

    spec = get_benchmark(name)
    if spec.offline:
        return resolve(spec.loader)(work, limit, seed)
    if data_dir is None:
        raise RewardkitError(f"benchmark {name!r} needs --data-dir (see data_cards/{name}.md)")
    return resolve(spec.loader)(data_dir, limit)


def as_rows(items: list[BenchItem], captions: list[str]) -> list[dict[str, Any]]:
    """Captions-file rows for ``rewardkit score``."""
    out = []
    for it, cap in zip(items, captions):
        row: dict[str, Any] = {
            "id": it.id,
            "image": str(it.image.resolve()),
            "caption": cap,
            "references": it.references,
        }
        if it.style:
            row["style"] = it.style
        out.append(row)
    return out

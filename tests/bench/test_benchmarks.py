"""Benchmark loaders (COCO Karpathy test, ESP, toy) and captioner names; real annotation formats, stand-in images."""

import json
from pathlib import Path

import pytest
import torch

from rewardkit.bench.benchmarks import coco_karpathy_items, esp_items, get_benchmark, load_items
from rewardkit.bench.captioners import apply_delta, captioner_spec
from rewardkit.errors import RewardkitError
from tests.tiny_models import make_images

ESP = Path(__file__).resolve().parents[3] / "shared" / "data" / "esp" / "dataset_v_0_2.json"


def test_unknown_names_suggest():
    with pytest.raises(RewardkitError, match="did you mean 'esp'"):
        get_benchmark("espp")
    with pytest.raises(RewardkitError, match="did you mean 'vlrm'"):
        captioner_spec("vlrn")
    assert captioner_spec("captions:/x.jsonl").checkpoint == "/x.jsonl"


def test_coco_karpathy_split_and_clear_message_when_absent(tmp_path):
    with pytest.raises(RewardkitError, match="dataset_coco.json"):
        coco_karpathy_items(tmp_path)
    (tmp_path / "val2014").mkdir()
    images = []
    for i, im in enumerate(make_images(3)):
        name = f"COCO_val2014_{i:012d}.jpg"
        im.save(tmp_path / "val2014" / name)
        images.append(
            {
                "filepath": "val2014",
                "filename": name,
                "cocoid": i,
                "split": ["test", "val", "test"][i],
                "sentences": [{"raw": f"A caption {k}."} for k in range(5)],
            }
        )
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images}))
    items = coco_karpathy_items(tmp_path)
    assert [it.id for it in items] == ["0", "2"] and len(items[0].references) == 5


@pytest.mark.skipif(not ESP.exists(), reason="the ESP annotation file is not at ../shared/data/esp")
def test_esp_protocol_on_the_real_annotations_with_stand_in_images(tmp_path):
    import shutil

    shutil.copy(ESP, tmp_path / "dataset_v_0_2.json")  # in a temporary folder only
    with pytest.raises(RewardkitError, match="ESP images are missing"):
        esp_items(tmp_path)
    from rewardkit.metrics.esp import load_esp

    first = list(dict.fromkeys(r["image"] for r in load_esp(str(ESP))))[:4]
    for name, pic in zip(first, make_images(4)):
        pic.save(tmp_path / name)
    items = esp_items(tmp_path, limit=4)
    assert len({it.image for it in items}) == 4
    assert {it.style for it in items} <= {"sns", "news", "blog", "story", "instruction"}
    assert all(len(it.references) == 1 for it in items)


def test_toy_benchmark_is_generated_from_the_seed(tmp_path):
    a = load_items("toy", data_dir=None, work=tmp_path / "a", limit=5, seed=3)
    b = load_items("toy", data_dir=None, work=tmp_path / "b", limit=5, seed=3)
    assert [x.references for x in a] == [x.references for x in b] and all(x.image.is_file() for x in a)


def test_delta_replaces_only_named_tensors():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    before = model[1].weight.clone()
    report = apply_delta(model, {"0.weight": torch.ones(2, 2)})
    assert report["replaced"] == ["0.weight"] and torch.equal(model[0].weight, torch.ones(2, 2))
    assert torch.equal(model[1].weight, before)
    with pytest.raises(RewardkitError, match="tensors the model lacks"):
        apply_delta(model, {"9.weight": torch.ones(2, 2)})

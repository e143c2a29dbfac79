"""``rewardkit bench`` for any captioner: a trained policy, a local folder, hf:ID_OR_PATH; the benchmark loaders; listings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rewardkit.bench.benchmarks import flickr30k_items, nocaps_items
from rewardkit.bench.captioners import captioner_spec
from rewardkit.cli.main import app
from rewardkit.errors import RewardkitError
from tests import tiny_models

runner = CliRunner()


def _bench(*args):
    return runner.invoke(app, ["bench", *map(str, args), "-q"], catch_exceptions=False)


@pytest.mark.slow
def test_train_then_bench_the_policy_and_the_run_folder(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps({"captions_per_step": 8, "micro_batch": 8, "probe_every": 0, "checkpoint_every": 2})
    )
    run = tmp_path / "R"
    result = runner.invoke(
        app,
        ["train", "--preset", "toy", "--config", str(config), "--steps", "2", "--out", str(run), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    res = tmp_path / "res"
    for model in (run / "policy", run):
        r = _bench("--model", model, "--benchmark", "toy", "--limit", 50, "--out", res)
        assert r.exit_code == 0, r.output
    records = [json.loads(p.read_text()) for p in res.glob("*__toy.json")]
    assert len(records) == 2 and all(r["n"] == 50 for r in records)
    assert all(0 <= r["metrics"]["clip_recall"]["R@1"] <= 1 for r in records)
    assert captioner_spec(str(run)).default_benchmark == "toy"  # a toy-trained run benches on toy by default
    for r in records:
        preds = json.loads((res / r["predictions"]).read_text())
        assert len(preds) == 50 and set(preds[0]) == {"image_id", "caption"}
        assert r["generation"]["num_beams"] == 5 and "scale" in r


def test_hf_captioner_from_a_local_folder(tmp_path):
    folder = tiny_models.save_blip_captioner(tmp_path / "blip")
    res = tmp_path / "res"
    for model in (f"hf:{folder}", str(folder)):
        r = _bench("--model", model, "--benchmark", "toy", "--limit", 6, "--out", res, "--max-new-tokens", 5)
        assert r.exit_code == 0, r.output
    records = [json.loads(p.read_text()) for p in res.glob("*__toy.json")]
    assert len(records) == 2
    for rec in records:
        assert rec["generation"] == {"do_sample": False, "num_beams": 1, "max_new_tokens": 5, "prompt": ""}
        caps = [
            json.loads(x)["caption"]
            for x in (res / rec["predictions"].replace(".predictions.json", ".captions.jsonl"))
            .read_text()
            .splitlines()
        ]
        assert len(caps) == 6 and all(isinstance(c, str) for c in caps)
    r = _bench(
        "--model", f"hf:{folder}", "--benchmark", "toy", "--limit", 2, "--out", res, "--prompt", "a photo of"
    )
    assert r.exit_code == 0
    rec = json.loads(next(res.glob("hf_*__toy.json")).read_text())
    assert rec["generation"]["prompt"] == "a photo of"


def test_unknown_models_and_folders_say_what_is_known(tmp_path):
    with pytest.raises(RewardkitError, match="did you mean 'toy-a2c'"):
        captioner_spec("toy-a2d")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardkitError, match="no config.json"):
        captioner_spec(str(tmp_path / "empty"))
    assert (
        captioner_spec("toy-sft").checkpoint == captioner_spec("toy-captioner").checkpoint
    )  # one model, two names
    assert captioner_spec("blip2").checkpoint == "Salesforce/blip2-opt-2.7b"
    with pytest.raises(RewardkitError, match="--prompt applies to hf"):
        from rewardkit.bench.run import run_bench

        run_bench(
            "toy-a2c",
            "toy",
            data_dir=None,
            limit=2,
            seed=0,
            out=tmp_path,
            device="cpu",
            batch_size=2,
            prompt="x",
        )


def test_models_listing_prints_whole_names_when_piped_and_json():
    from rewardkit.registry import MODELS

    out = runner.invoke(app, ["models"]).output
    for name in MODELS:
        m = MODELS.get(name)
        assert m.name in out and m.checkpoint in out
        if m.pretrained:
            assert m.pretrained in out
    data = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert {m["name"] for m in data["models"]} == set(MODELS)
    assert data["aliases"] == {"blip2": "blip2-opt-2.7b", "toy-sft": "toy-captioner"}


def test_flickr30k_and_nocaps_loaders_read_the_published_formats(tmp_path):
    from PIL import Image

    (tmp_path / "flickr30k-images").mkdir()
    (tmp_path / "validation").mkdir()
    for name in ("1.jpg", "2.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / "flickr30k-images" / name)
    Image.new("RGB", (8, 8)).save(tmp_path / "validation" / "0013ea2087020901.jpg")
    split = {
        "images": [
            {
                "filename": "1.jpg",
                "imgid": 0,
                "split": "test",
                "sentences": [{"raw": "A dog runs ."}, {"raw": "A dog."}],
            },
            {"filename": "2.jpg", "imgid": 1, "split": "train", "sentences": [{"raw": "x"}]},
        ],
        "dataset": "flickr30k",
    }
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps(split))
    items = flickr30k_items(tmp_path)
    assert [(it.id, it.image.name, it.references) for it in items] == [
        ("0", "1.jpg", ["A dog runs .", "A dog."])
    ]
    nocaps = {
        "licenses": [],
        "info": {},
        "images": [
            {
                "id": 0,
                "file_name": "0013ea2087020901.jpg",
                "open_images_id": "0013ea2087020901",
                "domain": "in-domain",
            }
        ],
        "annotations": [{"image_id": 0, "id": i, "caption": f"caption {i}"} for i in range(10)],
    }
    (tmp_path / "nocaps_val_4500_captions.json").write_text(json.dumps(nocaps))
    items = nocaps_items(tmp_path)
    assert len(items) == 1 and len(items[0].references) == 10
    (tmp_path / "nocaps_val_4500_captions.json").write_text("{broken")
    with pytest.raises(RewardkitError, match="not a readable NoCaps annotation file"):
        nocaps_items(tmp_path)

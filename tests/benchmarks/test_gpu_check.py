"""benchmarks/gpu_check.py: its --smoke mode runs the GPU check's whole path on CPU with tiny configs."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests import launch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fallback_vocabulary_covers_the_check_captions():
    gpu_check = _module()
    vocab = gpu_check._fallback_vocab(30523, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"])
    assert len(vocab) == 30523 and len(set(vocab)) == 30523 and vocab[:2] == ["[PAD]", "[UNK]"]
    assert {w for c in gpu_check.CAPTIONS for w in c.split()} <= set(vocab)


def test_photo_like_jpegs_are_640x480_and_not_noise(tmp_path):
    from PIL import Image

    paths = _module().photo_like_jpegs(tmp_path, 2)
    with Image.open(paths[0]) as im:
        assert im.size == (640, 480) and im.format == "JPEG"
    # a photo compresses far better than noise: under 1.5 bits per pixel at quality 90
    assert paths[0].stat().st_size * 8 / (640 * 480) < 1.5


@pytest.mark.slow
def test_smoke_mode_runs_every_part(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--cache", str(tmp_path / "cache"), "--out", str(out)],
        capture_output=True,
        text=True,
        env=launch.env(),
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["smoke"] is True and result["device"] == "cpu"
    score = result["score"]
    assert [r["code"] for r in score["runs"].values()] == [0, 0]
    assert score["runs"]["big"]["rows"] > score["runs"]["small"]["rows"]
    scored = [
        json.loads(x) for x in (tmp_path / "cache" / "work" / "scores_big.jsonl").read_text().splitlines()
    ]
    assert len(scored) == result["rows"] and all(math.isfinite(r["total"]) for r in scored)
    bare = result["bare_forwards"]
    assert {"itm", "ref", "evaluator"} <= set(bare) and all(
        bare[k]["captions_per_s"] > 0 for k in ("itm", "ref")
    )
    step = result["train_step"]
    assert step["code"] == 0 and step["metrics"]["step"] == 1 and math.isfinite(step["metrics"]["total_mean"])
    gen = result["generation"]
    assert gen["images"] == 2 and gen["images_per_s"] > 0 and gen["example"]
    assert "skipped" in result["serve"] or "how" in result["serve"]
    assert result["packages"]["missing"] == [] and "under_8_minutes" in result

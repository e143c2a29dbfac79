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


BLOCKER = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("open_clip", "pycocoevalcap"):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, _Block())
"""


def test_a_machine_without_open_clip_and_pycocoevalcap_is_detected(tmp_path):
    """The GPU machines meant here lack both; the check reports them (no wheel folder: nothing installed)."""
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCKER)
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import gpu_check; "
        "print(json.dumps(gpu_check.ensure_packages(__import__('pathlib').Path(sys.argv[2]), print)))"
    )
    env = launch.env()
    env["PYTHONPATH"] = f"{tmp_path / 'block'}:{env.get('PYTHONPATH', '')}"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "benchmarks"), str(tmp_path / "no-wheels-here")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["missing_before"] == ["open_clip_torch", "pycocoevalcap"]
    assert report["missing"] == ["open_clip_torch", "pycocoevalcap"]
    assert "pip" not in report  # no wheel folder, no install attempted

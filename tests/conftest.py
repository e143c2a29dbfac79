"""Session fixtures: tiny random checkpoints on disk, loaded back through the public loaders."""

from __future__ import annotations

import json
import os

import pytest

from tests import tiny_models
from tests.service import image_root, server, toy_reward  # noqa: F401  (the reward service's fixtures)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="session")
def open_clip_dir(tiny_dir):
    return tiny_models.save_open_clip(tiny_dir / "open_clip")


@pytest.fixture(scope="session")
def hf_clip_dir(tiny_dir):
    return tiny_models.save_hf_clip(tiny_dir / "hf_clip")


@pytest.fixture(scope="session")
def blip2_itm_dir(tiny_dir):
    return tiny_models.save_blip2_itm(tiny_dir / "blip2_itm")


@pytest.fixture(scope="session")
def opt_dir(tiny_dir):
    return tiny_models.save_opt(tiny_dir / "opt")


@pytest.fixture(scope="session")
def gpt2_dir(tiny_dir):
    return tiny_models.save_gpt2(tiny_dir / "gpt2")


@pytest.fixture(scope="session")
def images():
    return tiny_models.make_images(6)


@pytest.fixture(scope="session")
def preset_file(tmp_path_factory, open_clip_dir, blip2_itm_dir, opt_dir):
    d = tmp_path_factory.mktemp("preset")
    spec = {
        "name": "tiny-vlrm-rs",
        "models": {
            "clip": {"backend": "open_clip", "checkpoint": f"local-dir:{open_clip_dir}"},
            "itm": {"backend": "blip2_itm", "checkpoint": str(blip2_itm_dir)},
            "lm": {"backend": "causal_lm", "checkpoint": str(opt_dir)},
        },
        "components": [
            {"name": "itm", "reward": "itm", "model": "itm", "weight": 1.0},
            {"name": "ref", "reward": "ref", "model": "lm", "weight": 1.0},
            {"name": "phi", "reward": "phi", "model": "clip", "weight": 0.3},
            {"name": "clipscore", "reward": "clipscore", "model": "clip", "weight": 0.0},
            {"reward": "bad"},
            {"reward": "repeat"},
            {"reward": "noeos"},
        ],
        "evaluator": "clip",
    }
    path = d / "tiny.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="session")
def captioner_dir(tiny_dir):
    return tiny_models.save_blip2_captioner(tiny_dir / "captioner")


@pytest.fixture(scope="session")
def train_config_file(tmp_path_factory, preset_file, captioner_dir):
    """A training config for the tiny captioner with the tiny preset (toy scenes as data)."""
    d = tmp_path_factory.mktemp("train")
    cfg = {
        "policy": str(captioner_dir),
        "preset": str(preset_file),
        "captions_per_step": 8,
        "samples_per_image": 2,
        "micro_batch": 4,
        "max_new_tokens": 8,
        "probe_every": 0,
        "checkpoint_every": 2,
        "device": "cpu",
    }
    path = d / "train.json"
    path.write_text(json.dumps(cfg))
    return path

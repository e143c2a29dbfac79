"""The toy probe callback: beam captions of held-out scenes scored by the tier's CLIP, at the steps it is due."""

import numpy as np
import pytest

from rewardkit.registry import MODELS, TRAIN_CALLBACKS
from rewardkit.toy.probe import PROBE_SEED, ToyProbe, attach_probe
from rewardkit.train.a2c import A2CTrainer
from rewardkit.train.config import load_config


def test_the_probe_is_due_every_k_steps_and_at_the_last_and_measures_by_hand(train_config_file, tmp_path):
    from rewardkit.backends.blip2_captioner import VLRM_GENERATION
    from rewardkit.backends.open_clip import OpenCLIPBackend
    from rewardkit.bench.benchmarks import get_benchmark
    from rewardkit.toy import scenes

    cfg = load_config("toy", train_config_file, data="toy")
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda s: None)
    assert not trainer.callbacks["on_step"]  # a preset file is no toy preset: nothing attached
    trainer.add_callback("on_step", ToyProbe("toy", size=6, seed=cfg.seed, every=2))
    history = trainer.train(3)
    assert ["probe_R@1" in m for m in history] == [False, True, True]
    last = history[-1]

    images = [scenes.render(s) for s in scenes.distinct_scenes(6, PROBE_SEED + cfg.seed)]
    decoding = {**VLRM_GENERATION, **get_benchmark("toy").generation, "top_k": None, "temperature": None}
    trainer.model.eval()
    caps = trainer.rollout.caption_images(images, **decoding)
    clip = OpenCLIPBackend(MODELS.get("toy-clip").checkpoint, device="cpu")
    sim = np.asarray(clip.encode_texts(caps)) @ np.asarray(clip.encode_images(images)).T
    hits = [not (sim[i] > sim[i, i]).any() for i in range(6)]  # ties count in the caption's favour
    assert last["probe_R@1"] == pytest.approx(sum(hits) / 6)
    assert last["probe_grammatical"] == pytest.approx(sum(map(scenes.is_grammatical, caps)) / 6)
    assert last["probe_example"] == caps[0]


def test_the_probe_is_registered_for_toy_data_and_declines_other_runs(train_config_file, tmp_path):
    from dataclasses import replace

    assert TRAIN_CALLBACKS.get("toy") is attach_probe and TRAIN_CALLBACKS.get("toy-hard") is attach_probe
    cfg = load_config("toy", train_config_file, data="toy", preset="toy", probe_every=3, probe_size=5)
    trainer = A2CTrainer(cfg, tmp_path / "run", log=lambda s: None)
    (probe,) = trainer.callbacks["on_step"]
    assert isinstance(probe, ToyProbe)
    assert (probe.tier, probe.size, probe.seed, probe.every) == ("toy", 5, cfg.seed, 3)
    for declined in (replace(cfg, probe_every=0), replace(cfg, preset="vlrm")):
        trainer.config = declined
        attach_probe(trainer)
        assert trainer.callbacks["on_step"] == [probe]

"""Toy ITM training: patch tokens per grid cell, and vision pretraining learns the attributes."""

import torch

from rewardkit.registry import TIERS
from rewardkit.toy import hard as h
from rewardkit.toy import scenes as sc
from rewardkit.toy.training.common import blip2_config
from rewardkit.toy.training.itm import _quadrant_tokens, pretrain_vision


def test_quadrant_tokens_follow_the_positions_order():
    g, d = 8, 2
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    patches = torch.stack([rows, cols], -1).reshape(1, g * g, d).float()
    hidden = torch.cat([torch.full((1, 1, d), -1.0), patches], 1)  # [CLS] first, then row-major patches
    quads = _quadrant_tokens(hidden)
    for i, name in enumerate(sc.POSITIONS):
        r, c = quads[0, i, :, 0], quads[0, i, :, 1]
        top, left = name.startswith("top"), name.endswith("left")
        assert bool((r < g // 2).all()) == top and bool((r >= g // 2).all()) == (not top), name
        assert bool((c < g // 2).all()) == left and bool((c >= g // 2).all()) == (not left), name


def test_hard_cell_tokens_follow_the_grid():
    g, d = 6, 2  # a 6x6 patch grid: four tokens per cell
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    hidden = torch.cat(
        [torch.full((1, 1, d), -1.0), torch.stack([rows, cols], -1).reshape(1, g * g, d).float()], 1
    )
    cells = _quadrant_tokens(hidden, 9)
    for i, name in enumerate(h.POSITIONS):
        r, c = h.ROWS.index(name.split()[0]), h.COLS.index(name.split()[1])
        assert set(cells[0, i, :, 0].tolist()) == {2 * r, 2 * r + 1}, name
        assert set(cells[0, i, :, 1].tolist()) == {2 * c, 2 * c + 1}, name


def test_vision_pretraining_learns_attributes():
    from transformers.models.blip_2.modeling_blip_2 import Blip2VisionModel

    tier = TIERS.get("toy")
    torch.manual_seed(0)
    cfg = blip2_config(qformer_vocab=None, tier=tier).vision_config
    cfg.num_hidden_layers = 1
    vision = Blip2VisionModel(cfg)
    assert vision.embeddings.patch_embedding.weight.std() > 1e-3  # not BLIP-2's 1e-10 default init
    acc = pretrain_vision(vision, seed=0, steps=40, batch=32, pool=512, tier=tier, log=lambda s: None)
    assert acc["background"] > 0.9 and acc["color"] > 0.6, acc  # chance: 0.33 and ~0.45 (empty quadrants)

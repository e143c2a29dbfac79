"""Pieces of toy-model training: attribute targets and quadrant tokens line up with the scenes."""

import torch

from rewardkit.toy import models as m
from rewardkit.toy import scenes as sc


def test_attribute_targets_name_each_quadrant():
    scene = sc.Scene(
        "gray",
        (
            sc.ToyObject("triangle", "blue", "large", "bottom right"),
            sc.ToyObject("circle", "red", "small", "top left"),
        ),
    )
    t = m.attribute_targets([scene])
    assert t["background"].tolist() == [list(sc.BACKGROUNDS).index("gray")]
    q_tl, q_br = sc.POSITIONS.index("top left"), sc.POSITIONS.index("bottom right")
    assert t["shape"][0, q_tl] == 1 + sc.SHAPES.index("circle")
    assert t["color"][0, q_br] == 1 + list(sc.COLORS).index("blue")
    assert t["size"][0, q_br] == 1 + list(sc.SIZES).index("large")
    empty = [i for i in range(4) if i not in (q_tl, q_br)]
    assert all(t[k][0, i] == 0 for k in ("shape", "color", "size") for i in empty)


def test_quadrant_tokens_follow_the_positions_order():
    g, d = 8, 2
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    patches = torch.stack([rows, cols], -1).reshape(1, g * g, d).float()
    hidden = torch.cat([torch.full((1, 1, d), -1.0), patches], 1)  # [CLS] first, then row-major patches
    quads = m._quadrant_tokens(hidden)
    for i, name in enumerate(sc.POSITIONS):
        r, c = quads[0, i, :, 0], quads[0, i, :, 1]
        top, left = name.startswith("top"), name.endswith("left")
        assert bool((r < g // 2).all()) == top and bool((r >= g // 2).all()) == (not top), name
        assert bool((c < g // 2).all()) == left and bool((c >= g // 2).all()) == (not left), name


def test_vision_pretraining_learns_attributes():
    from transformers.models.blip_2.modeling_blip_2 import Blip2VisionModel

    torch.manual_seed(0)
    cfg = m.blip2_config(qformer_vocab=None).vision_config
    cfg.num_hidden_layers = 1
    vision = Blip2VisionModel(cfg)
    assert vision.embeddings.patch_embedding.weight.std() > 1e-3  # not BLIP-2's 1e-10 default init
    acc = m.pretrain_vision(vision, seed=0, steps=40, batch=32, pool=512, log=lambda s: None)
    assert acc["background"] > 0.9 and acc["color"] > 0.6, acc  # chance: 0.33 and ~0.45 (empty quadrants)

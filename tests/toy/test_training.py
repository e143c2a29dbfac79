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


def test_scene_probe_reads_scenes_from_an_embedding_that_holds_them():
    scene_list = sc.scenes(64, 5)
    t = m.attribute_targets(scene_list)
    # An embedding that holds the scene: one-hot attributes per quadrant and the background.
    emb = torch.cat(
        [
            torch.nn.functional.one_hot(t[k], n).flatten(1)
            for k, n in (("shape", 5), ("color", 7), ("size", 3))
        ]
        + [torch.nn.functional.one_hot(t["background"], 3)],
        1,
    ).float()
    torch.manual_seed(0)
    probe = m._SceneProbe(emb.shape[1])
    opt = torch.optim.Adam(probe.parameters(), lr=0.05)
    first = probe(emb, t)
    assert first.shape == (64,)
    for _ in range(150):
        loss = probe(emb, t).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 < first.mean().item(), (first.mean().item(), loss.item())
    noise = torch.randn_like(emb)  # an embedding that holds nothing stays unreadable
    assert probe(noise, t).mean() > 1.0


def test_train_clip_is_seeded_and_saves_only_the_open_clip_model(tmp_path):
    from safetensors.torch import load_file

    from rewardkit.backends.open_clip import OpenCLIPBackend

    quiet = {"steps": 2, "batch": 16, "log": lambda s: None}
    a = m.train_clip(tmp_path / "a", seed=3, **quiet)
    b = m.train_clip(tmp_path / "b", seed=3, **quiet)
    wa, wb = (
        load_file(str(a / "open_clip_model.safetensors")),
        load_file(str(b / "open_clip_model.safetensors")),
    )
    shipped = load_file(str(m.model_dir("clip") / "open_clip_model.safetensors"))
    assert set(wa) == set(shipped)  # the training probes are not saved
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    clip = OpenCLIPBackend(f"local-dir:{a}", device="cpu")
    scene = sc.scenes(1, 0)[0]
    img, txt = clip.encode_images([sc.render(scene)]), clip.encode_texts([sc.full(scene)])
    assert img.shape == txt.shape == (1, 64) and torch.isfinite(img).all() and torch.isfinite(txt).all()

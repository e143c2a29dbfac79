"""Toy CLIP training: scene probes read what an embedding holds, the run is seeded, only CLIP is saved."""

import torch

from rewardkit.registry import TIERS
from rewardkit.toy import hard as h
from rewardkit.toy import scenes as sc
from rewardkit.toy.training.clip import _SceneProbe, clip_config, train_clip
from rewardkit.toy.training.common import attribute_targets

TOY, HARD = TIERS.get("toy"), TIERS.get("toy-hard")


def test_scene_probe_reads_scenes_from_an_embedding_that_holds_them():
    scene_list = sc.scenes(64, 5)
    t = attribute_targets(scene_list, TOY)
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
    probe = _SceneProbe(emb.shape[1], TOY)
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


def test_scene_probe_sizes_follow_the_tier():
    probe = _SceneProbe(16, HARD)
    assert probe.cells == 9 and probe.kinds == {"shape": 7, "color": 9, "size": 3, "fill": 4}
    targets = attribute_targets(h.scenes(4, 0), HARD)
    assert probe(torch.randn(4, 16), targets).shape == (4,)


def test_clip_config_per_tier():
    toy = clip_config(30, 0, 2, TOY, vision_layers=6, text_layers=3)
    assert toy["vision_cfg"] == {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16}  # ResNet: fixed depth
    hard = clip_config(30, 0, 2, HARD, vision_layers=6, text_layers=3)
    assert hard["vision_cfg"] == {
        "image_size": 96,
        "patch_size": 32,
        "width": 128,
        "layers": 6,
        "head_width": 32,
    }
    assert (toy["text_cfg"]["context_length"], hard["text_cfg"]["context_length"]) == (48, 64)
    assert toy["text_cfg"]["layers"] == hard["text_cfg"]["layers"] == 3


def test_train_clip_is_seeded_and_saves_only_the_open_clip_model(tmp_path):
    from safetensors.torch import load_file

    from rewardkit.backends.open_clip import OpenCLIPBackend

    quiet = {"steps": 2, "batch": 16, "tier": TOY, "log": lambda s: None}
    a = train_clip(tmp_path / "a", seed=3, **quiet)
    b = train_clip(tmp_path / "b", seed=3, **quiet)
    wa, wb = (
        load_file(str(a / "open_clip_model.safetensors")),
        load_file(str(b / "open_clip_model.safetensors")),
    )
    shipped = load_file(str(TOY.weights / "clip" / "open_clip_model.safetensors"))
    assert set(wa) == set(shipped)  # the training probes are not saved
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    clip = OpenCLIPBackend(f"local-dir:{a}", device="cpu")
    scene = sc.scenes(1, 0)[0]
    img, txt = clip.encode_images([sc.render(scene)]), clip.encode_texts([sc.full(scene)])
    assert img.shape == txt.shape == (1, 64) and torch.isfinite(img).all() and torch.isfinite(txt).all()

"""Model-backed rewards and presets built from a preset file of tiny local models."""

import math

import pytest
import torch

from rewardkit.presets import PresetError, build_evaluator, build_reward, load_preset
from rewardkit.registry import PRESETS

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "an image of a cat in 1999",
    "a cat",
    "the woman",
]


def test_preset_file_builds_and_scores(preset_file, images):
    reward = build_reward(preset_file, device="cpu")
    out = reward.score_components(CAPTIONS, images=images, ended_with_eos=[True] * 5 + [False])
    assert set(out) == {"itm", "ref", "phi", "clipscore", "bad", "repeat", "noeos", "total"}
    assert out["bad"][3] == 4.0  # "an image of" (3 word pieces) + the year "1999"
    assert out["noeos"] == [0, 0, 0, 0, 0, 1]
    for i in range(len(CAPTIONS)):
        want = (
            out["itm"][i]
            + out["ref"][i]
            + 0.3 * out["phi"][i]
            - out["bad"][i]
            - out["repeat"][i]
            - out["noeos"][i]
        )
        assert math.isclose(out["total"][i], want, rel_tol=1e-9, abs_tol=1e-9)
    assert abs(sum(out["phi"])) < 1e-4


def test_components_equal_backend_outputs(preset_file, images):
    from rewardkit.functional import clip_score, pair_cosine, retrieval_softmax_phi

    reward = build_reward(preset_file, device="cpu")
    out = reward.score_components(CAPTIONS, images=images)
    by_name = {c.name: c.reward for c in reward.components}
    itm_backend = by_name["itm"].backend
    assert out["itm"] == pytest.approx(itm_backend.itm_logits(images, CAPTIONS).tolist(), abs=1e-6)
    assert out["ref"] == pytest.approx(by_name["ref"].backend.mean_logprob(CAPTIONS).tolist(), abs=1e-6)
    clip = build_evaluator(preset_file, device="cpu")
    img, txt = clip.encode_images(images), clip.encode_texts(CAPTIONS)
    assert out["phi"] == pytest.approx(retrieval_softmax_phi(img @ txt.T).tolist(), abs=1e-5)
    prompted = clip.encode_texts([f"A photo depicts {c}" for c in CAPTIONS])
    assert out["clipscore"] == pytest.approx(clip_score(pair_cosine(img, prompted)).tolist(), abs=1e-6)


def test_model_is_loaded_once_per_process(preset_file):
    a = build_reward(preset_file, device="cpu")
    b = build_reward(preset_file, device="cpu")
    assert a.components[0].reward.backend is b.components[0].reward.backend


def test_scores_do_not_depend_on_batch_order(preset_file, images):
    reward = build_reward(preset_file, device="cpu", only=["itm", "ref", "clipscore"])
    out = reward.score_components(CAPTIONS, images=images)
    perm = [5, 3, 1, 0, 4, 2]
    again = reward.score_components([CAPTIONS[i] for i in perm], images=[images[i] for i in perm])
    for name in ("itm", "ref", "clipscore"):
        assert again[name] == pytest.approx([out[name][i] for i in perm], abs=1e-5)


def test_refclipscore_with_and_without_references(preset_file, images, open_clip_dir):
    from rewardkit.rewards.vision import RefCLIPScore

    clip = build_evaluator(preset_file, device="cpu")
    r = RefCLIPScore(clip)
    refs = [["a red car", "a car"], [], ["dogs"]]
    got = r.score(CAPTIONS[:3], images=images[:3], references=refs)
    assert math.isnan(got[1]) and not math.isnan(got[0])
    cs = r.prompted(CAPTIONS[:1])
    c = clip.encode_texts(cs)[0]
    best = (clip.encode_texts(r.prompted(refs[0])) @ c).max().clamp(min=0).item()
    clip_s = 2.5 * max(float(clip.encode_images(images[:1])[0] @ c), 0)
    want = 0.0 if clip_s + best == 0 else 2 * clip_s * best / (clip_s + best)
    assert got[0] == pytest.approx(want, abs=1e-5)
    assert all(math.isnan(v) for v in r.score(CAPTIONS[:2], images=images[:2]))


def test_paths_as_images(preset_file, images, tmp_path):
    paths = []
    for i, im in enumerate(images[:3]):
        p = tmp_path / f"{i}.png"
        im.save(p)
        paths.append(p)
    reward = build_reward(preset_file, device="cpu", only=["itm"])
    from_paths = reward.score(CAPTIONS[:3], images=paths)
    from_pil = reward.score(CAPTIONS[:3], images=images[:3])
    assert from_paths == pytest.approx(from_pil, abs=1e-5)


def test_preset_errors(tmp_path, preset_file):
    from rewardkit.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean 'vlrm'"):
        load_preset("vlmr")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PresetError, match="not valid JSON"):
        load_preset(bad)
    with pytest.raises(PresetError, match="has no component"):
        build_reward(preset_file, only=["nope"], device="cpu")
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("components:\n  - reward: itmm\n")
    with pytest.raises(PresetError, match=r"components\[0\]\.reward: .*did you mean 'itm'"):
        load_preset(yaml_file)


def test_registered_presets_follow_the_papers():
    vlrm = PRESETS.get("vlrm")
    assert [(c.reward, c.model) for c in vlrm.components[:2]] == [
        ("itm", "blip2-itm-vit-g"),
        ("ref", "opt-2.7b"),
    ]
    rs = PRESETS.get("vlrm-rs")
    assert [(c.reward, c.weight) for c in rs.components[:2]] == [("itm", 1.0), ("phi", 0.3)]
    assert "ref" not in [c.reward for c in rs.components]
    assert PRESETS.get("esper").components[0].model == "clip-vit-b-32"


def test_itm_reward_batch_has_no_cross_talk(preset_file, images):
    reward = build_reward(preset_file, device="cpu", only=["itm"])
    alone = [reward.score([c], images=[im])[0] for c, im in zip(CAPTIONS, images)]
    together = reward.score(CAPTIONS, images=images)
    assert together == pytest.approx(alone, abs=1e-5)
    assert torch.tensor(together).std() > 0

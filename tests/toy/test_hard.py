"""The toy-hard world: scenes, grammar, pictures, the compositional split and the training targets."""

import json
import random

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.toy import hard as h
from rewardkit.toy import models as m

Obj = h.ToyObject


def _scene(*objs: Obj, bg: str = "black") -> h.Scene:
    return h.Scene(bg, tuple(objs))


def test_relations_by_hand():
    main = Obj("circle", "red", "large", "solid", "middle center")
    assert h.relation(Obj("star", "blue", "small", "solid", "top center"), main) == "above"
    assert h.relation(Obj("star", "blue", "small", "solid", "bottom right"), main) == "below"  # diagonal
    assert h.relation(Obj("star", "blue", "small", "solid", "middle left"), main) == "left of"
    corner = Obj("circle", "red", "large", "solid", "top left")
    assert h.relation(Obj("star", "blue", "small", "solid", "bottom center"), corner) == "below"
    assert h.relation(Obj("star", "blue", "small", "solid", "middle right"), corner) == "right of"
    assert h.relation(Obj("star", "blue", "small", "solid", "top right"), corner) == "right of"


def test_full_description_by_hand():
    s = _scene(
        Obj("circle", "red", "large", "striped", "middle center"),
        Obj("star", "blue", "small", "solid", "top left"),
        Obj("star", "blue", "small", "solid", "top right"),
        Obj("cross", "yellow", "large", "outlined", "middle left"),
        bg="white",
    )
    assert h.full(s) == (
        "a large striped red circle in the center, two small blue stars above it"
        " and a large outlined yellow cross left of it on a white background."
    )
    assert h.terse(s) == "a red circle."
    assert h.describe(s, **dict.fromkeys(h.DETAILS, False) | {"others": True}) == (
        "a red circle, two blue stars and a yellow cross."
    )


def test_training_split_excludes_and_compositional_split_holds_the_held_out_pairs():
    train = h.scenes(3000, 0)
    assert not any(h.held_out_combinations(s) for s in train)
    evaluation = h.distinct_scenes(500, 5000)
    assert all(h.held_out_combinations(s) for s in evaluation)
    assert len({h.full(s) for s in evaluation}) == 500
    texts = {h.full(s) for s in train}
    assert not texts & {h.full(s) for s in evaluation}
    # every held-out pair is said in the text of the scenes that hold it
    for s in evaluation[:100]:
        text = h.full(s)
        for a, shape in h.held_out_combinations(s):
            if a in h.COLORS:
                assert any(f"{a} {w}" in text for w in (shape, h.PLURALS[shape])), (text, a, shape)
            else:
                assert f" {a} it" in text, (text, a, shape)


def test_the_space_is_far_larger_than_the_toy_worlds():
    from rewardkit.toy import scenes as sc

    n = 4000
    hard_texts = {h.full(s) for s in h.scenes(n, 7)}
    toy_texts = {sc.full(s) for s in sc.scenes(n, 7)}
    assert n - len(hard_texts) < (n - len(toy_texts)) / 2  # repeated descriptions: 138 vs 384 measured
    counts = [len(s.objects) for s in h.scenes(n, 7)]
    assert max(counts) == 5 and min(counts) == 1
    assert any(" two " in t or " three " in t for t in hard_texts)


@pytest.mark.parametrize("seed", [0, 1])
def test_descriptions_are_grammatical_and_their_claims_hold(seed):
    rng = random.Random(seed)
    for s in h.scenes(300, seed):
        for text in (h.full(s), h.terse(s), h.full(s, rng), h.describe(s, rng, **h.random_detail(rng))):
            assert h.is_grammatical(text), text
            report = h.detail_report(text, s)
            assert report["main"] is True, text
            assert all(v in (True, None) for v in report.values()), (text, report)


@pytest.mark.parametrize(
    "text",
    [
        "a red circles.",
        "two red circle.",
        "an red circle.",
        "a orange star.",
        "a red circle in the center in the center.",
        "a red circle above it.",
        "a red circle and a blue star on a gray background on a gray background.",
        "a red circle, two blue stars above it on a.",
        "red circle.",
    ],
)
def test_ungrammatical_captions_are_rejected(text):
    assert not h.is_grammatical(text)


def test_corrupt_changes_a_stated_attribute_and_the_report_sees_it():
    rng = random.Random(0)
    for s in h.scenes(200, 3):
        bad = h.corrupt(s, rng)
        assert h.claims(bad) != h.claims(s)
        assert not h.held_out_combinations(bad)
        # the false description is caught on the true scene, or the true one on the changed scene
        # (an object dropped from a group leaves "a blue star" for two: true of the original)
        reports = [h.detail_report(h.full(bad), s), h.detail_report(h.full(s), bad)]
        assert any(v is False for r in reports for v in r.values()), (h.full(s), h.full(bad), reports)


def test_render_shows_fills():
    s = _scene(
        Obj("square", "red", "large", "solid", "top left"),
        Obj("square", "blue", "large", "outlined", "top right"),
        Obj("square", "green", "large", "striped", "bottom center"),
        bg="black",
    )
    img = np.asarray(h.render(s)).astype(int)
    assert img.shape == (96, 96, 3)
    black, red, blue = np.array(h.BACKGROUNDS["black"]), np.array(h.COLORS["red"]), np.array(h.COLORS["blue"])
    assert np.abs(img[16, 16] - red).max() < 10  # solid centre
    assert np.abs(img[16, 80] - black).max() < 10  # outlined: hollow centre
    assert np.abs(img[16, 80 - 10] - blue).max() < 40  # ... and a coloured rim
    column = img[80 - 9 : 80 + 9, 48]  # striped: rows alternate between green and background
    green = np.array(h.COLORS["green"])
    is_green = np.abs(column - green).max(1) < 40
    is_bg = np.abs(column - black).max(1) < 40
    assert is_green.sum() >= 4 and is_bg.sum() >= 4


def test_attribute_targets_and_cell_tokens_follow_the_grid():
    s = _scene(
        Obj("star", "cyan", "large", "striped", "bottom right"),
        Obj("cross", "pink", "small", "outlined", "top left"),
        bg="gray",
    )
    t = m.attribute_targets([s], h)
    assert set(t) == {"shape", "color", "size", "fill", "background"} and t["shape"].shape == (1, 9)
    assert t["fill"][0, h.POSITIONS.index("bottom right")] == 1 + h.FILLS.index("striped")
    assert t["shape"][0, h.POSITIONS.index("top left")] == 1 + h.SHAPES.index("cross")
    assert t["color"][0, 4] == 0
    g, d = 6, 2  # a 6x6 patch grid: four tokens per cell
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    hidden = torch.cat(
        [torch.full((1, 1, d), -1.0), torch.stack([rows, cols], -1).reshape(1, g * g, d).float()], 1
    )
    cells = m._quadrant_tokens(hidden, 9)
    for i, name in enumerate(h.POSITIONS):
        r, c = h.ROWS.index(name.split()[0]), h.COLS.index(name.split()[1])
        assert set(cells[0, i, :, 0].tolist()) == {2 * r, 2 * r + 1}, name
        assert set(cells[0, i, :, 1].tolist()) == {2 * c, 2 * c + 1}, name


def test_scene_probe_sizes_follow_the_tier():
    probe = m._SceneProbe(16, h)
    assert probe.cells == 9 and probe.kinds == {"shape": 7, "color": 9, "size": 3, "fill": 4}
    targets = m.attribute_targets(h.scenes(4, 0), h)
    assert probe(torch.randn(4, 16), targets).shape == (4,)


def test_make_set_tier_hard(tmp_path):
    result = CliRunner().invoke(
        app, ["toy", "make-set", "--tier", "hard", "--n", "5", "--seed", "2", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (tmp_path / "s" / "captions.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and rows[0]["id"].startswith("toy-hard-2-")
    scene = h.Scene.from_dict(rows[0]["scene"])
    assert rows[0]["caption"] == h.full(scene) and h.held_out_combinations(scene)
    from PIL import Image

    with Image.open(tmp_path / "s" / rows[0]["image"]) as im:
        assert im.size == (96, 96)


def test_unknown_tier_is_one_line(tmp_path):
    from rewardkit.errors import RewardkitError

    result = CliRunner().invoke(app, ["toy", "make-set", "--tier", "medium", "--out", str(tmp_path)])
    assert isinstance(result.exception, RewardkitError)  # main() prints it as one line, exit 2
    assert "unknown toy tier 'medium'" in str(result.exception)

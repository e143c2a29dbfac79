"""toy-hard pictures: fills drawn as solid, outlined and striped."""

import numpy as np

from rewardkit.toy import hard as h

Obj = h.ToyObject


def _scene(*objs: Obj, bg: str = "black") -> h.Scene:
    return h.Scene(bg, tuple(objs))


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

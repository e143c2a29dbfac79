"""The toy-hard world's pictures: shapes with solid, striped or outlined fills on a 96 x 96 grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardkit.toy import scenes as _toy
from rewardkit.toy.hard.core import BACKGROUNDS, CELL, COLORS, IMAGE_SIZE, SIZES, Scene, _cell

if TYPE_CHECKING:
    from PIL import Image


def _outline(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Polygon of a shape (``None`` for the circle)."""
    if shape == "circle":
        return None
    if shape == "square":
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == "star":
        import math

        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    w = r * 0.36  # cross
    return [
        (cx - w, cy - r),
        (cx + w, cy - r),
        (cx + w, cy - w),
        (cx + r, cy - w),
        (cx + r, cy + w),
        (cx + w, cy + w),
        (cx + w, cy + r),
        (cx - w, cy + r),
        (cx - w, cy + w),
        (cx - r, cy + w),
        (cx - r, cy - w),
        (cx - w, cy - w),
    ]


def _draw_shape(draw: Any, shape: str, cx: float, cy: float, r: float, fill: Any) -> None:
    poly = _outline(shape, cx, cy, r)
    if poly is None:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        draw.polygon(poly, fill=fill)


def render(scene: Scene, size: int = IMAGE_SIZE) -> Image.Image:
    """The scene as an RGB picture (``size`` x ``size``); stripes and outlines are 2-3 pixels wide."""
    from PIL import Image, ImageChops, ImageDraw

    scale = 2
    side = size * scale
    bg = BACKGROUNDS[scene.background]
    big = Image.new("RGB", (side, side), bg)
    f = size / IMAGE_SIZE * scale
    period = max(2, round(3 * f))
    draw = ImageDraw.Draw(big)
    for obj in scene.objects:
        row, col = _cell(obj.position)
        cx, cy = (col * CELL + CELL / 2 + obj.dx) * f, (row * CELL + CELL / 2 + obj.dy) * f
        r = SIZES[obj.size] * f
        _draw_shape(draw, obj.shape, cx, cy, r, COLORS[obj.color])
        if obj.fill == "outlined":
            _draw_shape(draw, obj.shape, cx, cy, r - 2.5 * f - r * 0.15, bg)
        elif obj.fill == "striped":  # background-coloured stripes inside the shape
            x0, y0, w = int(cx - r) - 2, int(cy - r) - 2, int(2 * r) + 5
            mask = Image.new("L", (w, w), 0)
            _draw_shape(ImageDraw.Draw(mask), obj.shape, cx - x0, cy - y0, r, 255)
            band = Image.new("L", (w, w), 0)
            bd = ImageDraw.Draw(band)
            for y in range(w):
                if ((y0 + y) // period) % 2 == 1:
                    bd.line((0, y, w, y), fill=255)
            big.paste(bg, (x0, y0), mask=ImageChops.multiply(mask, band))
    return big.reduce(scale)


def pixels(scene_list: Sequence[Scene]) -> Any:
    """A uint8 tensor ``[n, 3, H, W]`` of rendered scenes."""
    return _toy.pixels(scene_list, render)

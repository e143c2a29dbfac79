"""The one image loader: every mode scores as its upright 8-bit RGB picture (shipped toy ITM/ITC and toy CLIP).

Expected values are the models' outputs on the upright 8-bit RGB picture, built here with numpy
(the reference); the variant goes through rewardkit's loader. Lossless variants must give the same
pixels (hence scores equal within 1e-5, float noise); lossy ones (JPEG) state their tolerance.
"""

from __future__ import annotations

import base64
import io
import random
import uuid

import numpy as np
import pytest
import torch
from PIL import Image

from rewardkit.io.images import (
    MAX_ASPECT_RATIO,
    ImageError,
    check_resize,
    load_image,
    load_images,
    pixel_key,
)
from rewardkit.toy import scenes as sc

EXACT = 1e-5
"""Scores of identical pixels: equal up to float noise."""


@pytest.fixture(scope="module")
def models():
    from rewardkit.presets import build_evaluator, build_reward

    return build_reward("toy", only=["itm", "itc"], device="cpu"), build_evaluator("toy", device="cpu")


@pytest.fixture(scope="module")
def upright():
    """A toy scene on a wider white canvas (96x64), so a rotation changes what the models see."""
    scene = sc.sample_scene(random.Random(3))
    canvas = Image.new("RGB", (96, 64), (255, 255, 255))
    canvas.paste(sc.render(scene, 64), (8, 0))
    return canvas, sc.terse(scene)


def scores(models, image, caption):
    """(ITM, ITC, CLIP image embedding) of one image; a fresh cache key so the models really run."""
    reward, clip = models
    key = [uuid.uuid4().hex]
    out = reward.score_components([caption], images=[image], image_keys=key)
    loaded = load_image(image)
    emb = clip.encode_images([loaded.image], [uuid.uuid4().hex])[0]
    return np.array([out["itm"][0], out["itc"][0]]), emb


def assert_scores_close(models, variant, reference, caption, tol):
    got, got_emb = scores(models, variant, caption)
    want, want_emb = scores(models, reference, caption)
    assert np.abs(got - want).max() <= tol, (got, want)
    assert float((got_emb - want_emb).abs().max()) <= tol


def encoded(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def pixels(x):
    return np.asarray(load_image(x).image)


# EXIF orientation -> what Image.transpose must do to the stored picture to show it upright (EXIF 2.3, Table 6)
SHOW = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
STORE = {**SHOW, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}  # the inverses


def with_orientation(im, orientation, fmt, **kw):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(im.transpose(STORE[orientation]), fmt, exif=exif.tobytes(), **kw)


@pytest.mark.parametrize("orientation", sorted(SHOW))
def test_exif_orientation_png_scores_as_upright(models, upright, orientation):
    im, caption = upright
    data = with_orientation(im, orientation, "PNG")
    assert np.array_equal(pixels(data), np.asarray(im))
    assert_scores_close(models, data, im, caption, EXACT)


def test_exif_rotated_jpeg_scores_as_upright_jpeg(models, upright):
    """A phone photo: orientation 6. Both JPEGs at quality 100, 4:4:4, so re-encoding the rotated pixels
    moves pixels by a level or two: toy ITM within 0.15, ITC within 0.01, CLIP cosine ≥ 0.9999
    (measured: 0.08, 0.003, 0.99998). Read sideways, the cosine falls to ~0.5."""
    im, caption = upright
    plain = encoded(im, "JPEG", quality=100, subsampling=0)
    rotated = with_orientation(im, 6, "JPEG", quality=100, subsampling=0)
    assert pixels(rotated).shape == pixels(plain).shape == (64, 96, 3)
    got, got_emb = scores(models, rotated, caption)
    want, want_emb = scores(models, plain, caption)
    assert abs(got[0] - want[0]) <= 0.15 and abs(got[1] - want[1]) <= 0.01
    assert float(got_emb @ want_emb) >= 0.9999
    # the check can fail: the same file read sideways is another picture to the models
    sideways = Image.open(io.BytesIO(rotated)).convert("RGB")
    _, side_emb = scores(models, encoded(sideways, "PNG"), caption)
    assert float(side_emb @ want_emb) < 0.9


@pytest.fixture(scope="module")
def gray(upright):
    g = np.asarray(upright[0].convert("L"))
    return g, Image.fromarray(np.stack([g] * 3, -1))


def test_16bit_png_scores_as_8bit(models, gray, upright):
    g, ref = gray
    data = encoded(Image.fromarray(g.astype(np.uint16) * 257), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    assert np.array_equal(pixels(data), np.asarray(ref))
    assert_scores_close(models, data, ref, upright[1], EXACT)
    white = Image.new("RGB", ref.size, (255, 255, 255))
    assert not np.array_equal(pixels(data), np.asarray(white))  # what convert("RGB") gave


def test_32bit_int_image_scores_as_8bit(models, gray, upright):
    g, ref = gray
    im = Image.fromarray(g.astype(np.int32) * 257)
    assert im.mode == "I"
    assert np.array_equal(pixels(im), np.asarray(ref))
    assert_scores_close(models, encoded(im, "TIFF"), ref, upright[1], EXACT)


def test_32bit_int_outside_16_bits_uses_its_own_range(gray):
    g, _ = gray
    im = Image.fromarray(g.astype(np.int32) * 100_000 - 7)
    lo, hi = im.getextrema()
    want = np.rint((g.astype(np.float64) * 100_000 - 7 - lo) * 255 / (hi - lo))
    assert np.array_equal(pixels(im)[..., 0], want.astype(np.uint8))


def test_float_image_scores_as_8bit(models, gray, upright):
    g, ref = gray
    im = Image.fromarray(g.astype(np.float32) / 255)
    assert im.mode == "F"
    assert np.array_equal(pixels(im), np.asarray(ref))
    assert_scores_close(models, encoded(im, "TIFF"), ref, upright[1], EXACT)
    with pytest.raises(ImageError, match="NaN"):
        load_image(Image.fromarray(np.full((4, 4), np.nan, np.float32)))


def test_palette_scores_as_its_colours(models, upright):
    im, caption = upright
    pal = im.quantize(64)
    ref = Image.fromarray(np.asarray(pal.convert("RGB")))
    data = encoded(pal, "PNG")
    assert np.array_equal(pixels(data), np.asarray(ref))
    assert_scores_close(models, data, ref, caption, EXACT)


def _background_index(pal):
    counts = np.bincount(np.asarray(pal).ravel())
    return int(counts.argmax())


def test_palette_transparency_composited_on_white(models, upright):
    """The background colour marked transparent: pixels unchanged, so only the loader's compositing decides."""
    im, caption = upright
    pal = im.quantize(64)
    rgb = np.asarray(pal.convert("RGB")).copy()
    idx = _background_index(pal)
    mask = np.asarray(pal) == idx
    # recolour the background so that transparency changes the picture
    palette = pal.getpalette()
    palette[3 * idx : 3 * idx + 3] = [20, 40, 200]
    pal.putpalette(palette)
    opaque = encoded(pal, "PNG")
    twin = encoded(pal, "PNG", transparency=idx)
    rgb[~mask] = np.asarray(pal.convert("RGB"))[~mask]
    want = rgb.copy()
    want[mask] = 255
    assert np.array_equal(pixels(twin), want)
    assert_scores_close(models, twin, Image.fromarray(want), caption, EXACT)
    # in-memory twins: the cache key covers the transparency, whichever is scored first
    a = Image.open(io.BytesIO(opaque))
    b = Image.open(io.BytesIO(twin))
    a.load(), b.load()
    assert np.array_equal(np.asarray(a), np.asarray(b))  # same palette indices
    assert load_image(a).key != load_image(b).key
    reward, _ = models
    first = reward.score_components([caption, caption], images=[b, a])
    then = reward.score_components([caption], images=[a])
    alone = reward.score_components([caption], images=[Image.fromarray(np.asarray(a.convert("RGB")))])
    assert then["itm"][0] == pytest.approx(alone["itm"][0], abs=EXACT)
    assert first["itm"][1] == pytest.approx(alone["itm"][0], abs=EXACT)
    assert abs(first["itm"][0] - first["itm"][1]) > 0.1


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(models, upright, mode):
    im, caption = upright
    base = im if mode == "RGBA" else im.convert("L")
    arr = np.asarray(base.convert("RGB")).astype(np.float64)
    h, w = arr.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, : w // 2] = 255  # left half opaque, right half transparent: exact
    alpha[h // 2 :, w // 2 :] = 128  # bottom right half-transparent: within one level
    rgba = base.convert(mode[:-1]).copy()
    rgba.putalpha(Image.fromarray(alpha))
    assert rgba.mode == mode
    a = alpha[..., None] / 255.0
    want = np.rint(arr * a + 255.0 * (1 - a))  # "over" a white background
    got = pixels(encoded(rgba, "PNG"))
    assert np.abs(got - want).max() <= 1
    assert np.array_equal(got[:, : w // 2], want[:, : w // 2].astype(np.uint8))
    assert_scores_close(models, encoded(rgba, "PNG"), Image.fromarray(got), caption, EXACT)


def test_rgb_colour_key_transparency(upright):
    im, _ = upright
    arr = np.asarray(im)
    colour = tuple(int(v) for v in arr[0, 0])
    data = encoded(im, "PNG", transparency=colour)
    assert "transparency" in Image.open(io.BytesIO(data)).info
    want = arr.copy()
    want[(arr == colour).all(-1)] = 255
    assert np.array_equal(pixels(data), want)


def test_cmyk_scores_as_rgb(models, upright):
    im, caption = upright
    data = encoded(im.convert("CMYK"), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert np.array_equal(pixels(data), np.asarray(im))
    assert_scores_close(models, data, im, caption, EXACT)


def test_bilevel_scores_as_black_and_white(models, upright):
    im, caption = upright
    bw = im.convert("1")
    ref = Image.fromarray(np.stack([np.asarray(bw).astype(np.uint8) * 255] * 3, -1))
    data = encoded(bw, "PNG")
    assert np.array_equal(pixels(data), np.asarray(ref))
    assert_scores_close(models, data, ref, caption, EXACT)


@pytest.mark.parametrize("fmt", ["TIFF", "GIF", "PNG"])
def test_multi_frame_first_frame(models, upright, fmt):
    im, caption = upright
    other = im.transpose(Image.Transpose.ROTATE_180)
    first = im.quantize(64) if fmt == "GIF" else im
    data = encoded(first, fmt, save_all=True, append_images=[other.quantize(64) if fmt == "GIF" else other])
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    ref = Image.fromarray(np.asarray(first.convert("RGB")))
    assert np.array_equal(pixels(data), np.asarray(ref))
    assert_scores_close(models, data, ref, caption, EXACT)


def test_arrays_and_tensors_score_as_the_picture(models, upright):
    im, caption = upright
    arr = np.asarray(im)
    variants = {
        "numpy uint8 HWC": arr,
        "numpy float HWC": arr.astype(np.float32) / 255,
        "torch uint8 CHW": torch.from_numpy(arr.copy()).permute(2, 0, 1),
        "torch float CHW": torch.from_numpy(arr.copy()).permute(2, 0, 1).double() / 255,
        "bytes": encoded(im, "PNG"),
        "data URI": "data:image/png;base64," + base64.b64encode(encoded(im, "PNG")).decode(),
        "datasets Image": {"bytes": encoded(im, "PNG"), "path": None},
    }
    for name, value in variants.items():
        assert np.array_equal(pixels(value), arr), name
    assert_scores_close(models, variants["torch float CHW"], im, caption, EXACT)
    assert_scores_close(models, variants["numpy float HWC"], im, caption, EXACT)
    gray = np.asarray(im.convert("L"))
    assert np.array_equal(pixels(gray), np.stack([gray] * 3, -1))


@pytest.mark.parametrize(
    "value, match",
    [
        (np.zeros((3, 8, 9), np.uint8), r"images\[1\] must be an HxWxC array.*transpose\(1, 2, 0\)"),
        (torch.zeros(8, 9, 3), r"images\[1\] must be a CxHxW tensor.*permute\(2, 0, 1\)"),
        (torch.zeros(2, 3, 8, 8), r"images\[1\] must be a CxHxW.*a batch"),
        (np.zeros((8, 8), np.int64), r"images\[1\] is an array of int64"),
        (np.full((8, 8, 3), 255.0), r"images\[1\] is an array of floats in \[255, 255\]"),
        (5, r"images\[1\] must be a path, bytes.* not int"),
        (b"not an image", r"images\[1\] is not a readable image"),
        ("data:image/png;base64,@@@", r"images\[1\] is a data: URI with invalid base64"),
    ],
)
def test_anything_else_is_refused_naming_the_argument(models, upright, value, match):
    reward, _ = models
    with pytest.raises(ImageError, match=match):
        reward.score_components(["a", "b"], images=[upright[0], value])


def test_extreme_shapes_refused_before_decoding():
    strip = encoded(Image.new("L", (89_000, 1)), "PNG")
    with pytest.raises(ImageError, match=r"89000x1, an aspect ratio of 89,000:1 past the cap of 100:1"):
        load_image(strip)
    ok = int(MAX_ASPECT_RATIO)
    assert load_image(encoded(Image.new("L", (ok, 1)), "PNG")).image.size == (ok, 1)
    with pytest.raises(ImageError, match="over the bound"):
        check_resize(90, 1, 1024)
    with pytest.raises(ImageError, match="is 0x0"):
        load_image(np.zeros((0, 0, 3), np.uint8))


def test_paths_resolve_under_the_root(tmp_path, upright):
    (tmp_path / "root").mkdir()
    upright[0].save(tmp_path / "root" / "a.png")
    upright[0].save(tmp_path / "b.png")
    assert load_image("a.png", root=tmp_path / "root").image.size == (96, 64)
    with pytest.raises(ImageError, match="outside the image root"):
        load_image("../b.png", root=tmp_path / "root")
    with pytest.raises(ImageError, match="not found"):
        load_image("c.png", root=tmp_path / "root")
    with pytest.raises(ImageError, match="is a directory"):
        load_image(".", root=tmp_path / "root")


def test_keys_cover_what_models_see(upright):
    im, _ = upright
    data = encoded(im, "PNG")
    assert load_image(data).key == load_image(data).key
    assert load_image(im).key == pixel_key(load_image(data).image)
    flipped = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert load_image(flipped).key != load_image(im).key
    assert [x.key for x in load_images([im, flipped])] == [load_image(im).key, load_image(flipped).key]
    with pytest.raises(ImageError, match="must be a list of images"):
        load_images("a.png")


def test_trl_image_columns_take_arrays_tensors_and_datasets_bytes(models, upright):
    """A TRL reward call with an image column of arrays, tensors or undecoded ``datasets.Image`` dicts."""
    reward, _ = models
    im, caption = upright
    arr = np.asarray(im)
    direct = reward.score_components([caption] * 2, images=[im, im])["total"]
    for column in (
        [arr, arr.astype(np.float32) / 255],
        [torch.from_numpy(arr.copy()).permute(2, 0, 1)] * 2,
        [{"bytes": encoded(im, "PNG"), "path": None}] * 2,
        [[arr]] * 2,  # TRL's multimodal column: one image per row
    ):
        totals = reward(prompts=None, completions=[caption] * 2, image=column, ended_with_eos=[True] * 2)
        assert totals == pytest.approx(direct, abs=EXACT)
    with pytest.raises(ImageError, match=r"images\[1\] must be an HxWxC array"):
        reward(prompts=None, completions=[caption] * 2, image=[arr, arr.transpose(2, 0, 1)])

"""The parallel image pipeline: same scores for any --workers, bad images stay their row's error, draft within tolerance."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.io.images import ImageError
from rewardkit.io.pipeline import ImagePipeline, PreparedImage, model_transforms
from rewardkit.scoring.pipeline import ScoreConfig, score_file
from rewardkit.scoring.rows import RowError
from rewardkit.toy import scenes as sc


def photo_like(seed: int, size=(640, 480), quality: int = 90) -> bytes:
    """A JPEG with what photos have and noise lacks: smooth gradients, blurred shapes, mild sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (x / w * np.cos(angle) + y / h * np.sin(angle))[..., None]
    arr = rng.uniform(0, 255, 3) * (1 - t) + rng.uniform(0, 255, 3) * t
    im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.25) * w
        box = [cx - r, cy - r * rng.uniform(0.4, 1), cx + r, cy + r]
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    im = im.filter(ImageFilter.GaussianBlur(w / 400))
    noisy = np.asarray(im).astype(np.float32) + rng.normal(0, 4, (h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def toy():
    from rewardkit.presets import build_evaluator, build_reward

    return build_reward("toy", only=["itm", "itc"], device="cpu"), build_evaluator("toy", device="cpu")


@pytest.mark.parametrize("size, scale", [((640, 480), 2), ((1600, 1200), 8)])
def test_reduced_scale_decode_within_stated_tolerance(toy, size, scale):
    """Draft decode vs full decode + the same transform: 0.005 mean / 0.05 max abs on the normalised
    inputs, toy CLIP cosine ≥ 0.9999, toy ITM/ITC within 0.05 (see rewardkit.io.pipeline)."""
    reward, clip = toy
    transforms = model_transforms(reward, clip)
    assert {t.size for t in transforms} == {64}
    full = ImagePipeline(transforms, workers=0, draft=False)
    draft = ImagePipeline(transforms, workers=0)
    for seed in range(2 if size[0] < 1000 else 1):
        data = photo_like(seed, size)
        a, b = full.prepare(data), draft.prepare(data)
        assert b.key.endswith(f"@1/{scale}") and "@" not in a.key  # the key says what the models saw
        assert b.image.size == (size[0] // scale, size[1] // scale)
        for t in transforms:
            d = (a.pixels[t.model_id] - b.pixels[t.model_id]).abs()
            assert float(d.mean()) <= 0.005 and float(d.max()) <= 0.05
        ea, eb = clip.encode_images([a], [a.key]), clip.encode_images([b], [b.key])
        assert float((ea * eb).sum()) >= 0.9999
        caption = ["a red circle."]
        sa = reward.score_components(caption, images=[a], image_keys=[a.key])
        sb = reward.score_components(caption, images=[b], image_keys=[b.key])
        assert abs(sa["itm"][0] - sb["itm"][0]) <= 0.05 and abs(sa["itc"][0] - sb["itc"][0]) <= 0.05


def test_prepared_pixels_are_the_models_own_transform(toy):
    reward, clip = toy
    transforms = model_transforms(reward, clip)
    prepared = ImagePipeline(transforms, workers=2, draft=False).prepare(photo_like(3))
    for t in transforms:
        assert np.array_equal(prepared.pixels[t.model_id].numpy(), t.transform(prepared.image).numpy())
    itm = reward.components[0].reward.backend
    ref = itm.image_processor(images=[prepared.image], return_tensors="pt")["pixel_values"][0]
    assert np.allclose(prepared.pixels[itm.model_id].numpy(), ref.numpy(), atol=1e-6)


def test_map_batches_keeps_order_and_returns_errors_as_values():
    good = [photo_like(i, (64, 48)) for i in range(5)]
    items = [good[0], b"junk", None, *good[1:], np.zeros((3, 8, 8), np.uint8)]
    batches = [items[i : i + 2] for i in range(0, len(items), 2)]
    results = {}
    for workers in (0, 1, 4):
        with ImagePipeline([], workers=workers, lookahead=1) as pipe:
            got = list(pipe.map_batches(iter(batches), lambda x: x))
        assert [b for b, _ in got] == batches
        flat = [r for _, rs in got for r in rs]
        assert isinstance(flat[1], ImageError) and "not a readable image" in str(flat[1])
        assert flat[2] is None and isinstance(flat[-1], ImageError)
        results[workers] = [r.key if isinstance(r, PreparedImage) else repr(r) for r in flat]
    assert results[0] == results[1] == results[4]


@pytest.fixture()
def captions_file(tmp_path):
    """Toy scenes and photo-like JPEGs; a corrupt image, a missing one and an 89,000x1 strip among them."""
    import random

    (tmp_path / "imgs").mkdir()
    rows = []
    scenes = [sc.sample_scene(random.Random(i)) for i in range(6)]
    for i, scene in enumerate(scenes):
        if i % 2:
            sc.render(scene).save(tmp_path / "imgs" / f"{i}.png")
            name = f"{i}.png"
        else:
            (tmp_path / "imgs" / f"{i}.jpg").write_bytes(photo_like(i))
            name = f"{i}.jpg"
        rows += [{"id": f"{i}a", "image": f"imgs/{name}", "caption": sc.terse(scene)}]
        rows += [{"id": f"{i}b", "image": f"imgs/{name}", "caption": sc.full(scene)}]
    (tmp_path / "imgs" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    Image.new("L", (89_000, 1)).save(tmp_path / "imgs" / "strip.png")
    rows.insert(3, {"id": "bad", "image": "imgs/bad.png", "caption": "a red circle."})
    rows.insert(7, {"id": "missing", "image": "imgs/nope.png", "caption": "a red circle."})
    rows.insert(10, {"id": "strip", "image": "imgs/strip.png", "caption": "a red circle."})
    path = tmp_path / "captions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_same_scores_whatever_workers(captions_file):
    outs = {}
    for workers in (0, 1, 3):
        out = captions_file.with_name(f"out{workers}.jsonl")
        result = score_file(
            ScoreConfig(captions_file, out, preset="toy", on_error="skip", batch_size=4, workers=workers)
        )
        assert result.scored == 12
        errors = out.with_name(out.name[: -len(".jsonl")] + ".errors.jsonl").read_text()
        outs[workers] = (out.read_text(), errors)
    assert outs[0] == outs[1] == outs[3]
    errs = [json.loads(line) for line in outs[0][1].splitlines()]
    assert [(e["line"], e["id"]) for e in errs] == [(4, "bad"), (8, "missing"), (11, "strip")]
    assert "aspect ratio of 89,000:1 past the cap" in errs[2]["reason"]
    assert "not a readable image" in errs[0]["reason"] and "not found" in errs[1]["reason"]


def test_bad_image_is_its_rows_error_with_its_line(captions_file):
    # a missing file is found by the check pass before any model loads; this test is about decoding
    lines = captions_file.read_text().splitlines(keepends=True)
    captions_file.write_text("".join(line for line in lines if json.loads(line)["id"] != "missing"))
    out = captions_file.with_name("out.jsonl")
    with pytest.raises(RowError) as info:
        score_file(ScoreConfig(captions_file, out, preset="toy", batch_size=2, workers=2, summary=False))
    assert str(info.value).startswith(
        f"{captions_file}:4 (id 'bad'): image 'imgs/bad.png' is not a readable image"
    )
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["0a", "0b", "1a"]


def test_cli_workers_option(captions_file):
    out = captions_file.with_name("cli.jsonl")
    args = ["score", str(captions_file), "-o", str(out), "--on-error", "skip", "--quiet", "--rewards", "itm"]
    result = CliRunner().invoke(app, [*args, "--workers", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    zero = out.read_text()
    result = CliRunner().invoke(app, [*args, "--workers", "2"], catch_exceptions=False)
    assert result.exit_code == 0 and out.read_text() == zero
    result = CliRunner().invoke(app, [*args, "--workers", "-1"])
    assert result.exit_code == 2 and "--workers" in result.output


def test_text_only_rewards_summary_leaves_unusable_images_out(captions_file):
    """The evaluator's metrics read images through the same loader: a corrupt, missing or 89,000x1 image
    is left out and counted, never the summary's failure (text-only rewards do not load images)."""
    out = captions_file.with_name("text.jsonl")
    result = score_file(ScoreConfig(captions_file, out, preset="toy", rewards=["bad", "repeat"], workers=2))
    assert result.scored == 15 and not result.errors
    assert result.summary["n_unreadable_images"] == 3
    assert result.summary["n_images"] == 6 and 0 <= result.summary["clip_recall"]["R@1"] <= 1

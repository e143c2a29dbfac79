"""Request images: paths stay under the image root; data URIs must be images."""

from __future__ import annotations

import pytest

from rewardkit.serving.images import ImageProblem, request_image


def test_image_paths_stay_under_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 10, 10)).save(root / "sub" / "ok.bin", format="PNG")
    Image.new("RGB", (8, 8), (10, 10, 200)).save(tmp_path / "secret.bin", format="PNG")
    (root / "link.bin").symlink_to(tmp_path / "secret.bin")
    assert request_image("sub/ok.bin", root)[0].getpixel((0, 0)) == (200, 10, 10)
    absolute = str(root / "sub" / "ok.bin")  # absolute, but under the root
    assert request_image(absolute, root)[0].getpixel((0, 0)) == (200, 10, 10)
    for bad in ("../secret.bin", "sub/../../secret.bin", str(tmp_path / "secret.bin"), "link.bin", "sub"):
        with pytest.raises(ImageProblem):
            request_image(bad, root)
    with pytest.raises(ImageProblem, match="data URI"):
        request_image("data:text/plain;base64,eA==", root)

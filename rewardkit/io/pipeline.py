"""The parallel image pipeline: read, decode and each model's preprocessing in worker threads, ahead of the forwards.

Each image file is read once (hashed for the cache key, decoded from memory, EXIF applied; see
:mod:`rewardkit.io.images`), then every model's own transform runs on it, all in a thread pool
(Pillow and torch release the GIL while decoding, resizing and normalising). While the models run
batch *k*, the pool already prepares batches *k+1 … k+lookahead*. A bad image comes back as an
:class:`~rewardkit.io.images.ImageError` value in its place, so the caller makes it that row's error.
``workers=0`` runs the same steps in-process, in order; the results are identical for any ``workers``.

Reduced-scale JPEG decoding (Pillow's ``draft``): a JPEG is decoded at 1/2, 1/4 or 1/8 scale when the
reduced image's shortest side still holds at least ``DRAFT_MARGIN`` (2) times the largest size any of
the models resizes to (:func:`rewardkit.io.images.draft_scale`). Measured on photo-like 640x480,
1600x1200 and 4000x3000 JPEGs against a full decode followed by the same transform (toy CLIP and ITM
at 64 px, an open_clip 224-px eval transform): model inputs differ by at most 0.003 mean and 0.03 max
absolute on their normalised scale (about 4 of 255 levels at worst), toy CLIP image embeddings keep a
cosine ≥ 0.99999 (tests/io/test_pipeline.py holds the tolerance: 0.005 mean, 0.05 max, cosine ≥ 0.9999).
A margin of 1 made the worst difference five times larger (0.146 max at 224 px), so it is not used.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from rewardkit.io.images import DRAFT_MARGIN, ImageError, check_resize, load_image, to_rgb

if TYPE_CHECKING:
    import torch
    from PIL import Image

T = TypeVar("T")

__all__ = [
    "DRAFT_MARGIN",
    "ImagePipeline",
    "ModelTransform",
    "PreparedImage",
    "model_pixels",
    "model_transforms",
]


def default_workers() -> int:
    """Worker threads when ``--workers`` is not given: the usable cores, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


@dataclass(frozen=True)
class ModelTransform:
    """One model's eval preprocessing: ``transform(rgb_image) -> CxHxW tensor``, and the side it resizes to."""

    model_id: str
    transform: Callable[[Image.Image], torch.Tensor]
    size: int


@dataclass
class PreparedImage:
    """An image prepared once for every model: the RGB picture, its cache key, and each model's pixels by model id."""

    image: Image.Image
    key: str
    pixels: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def mode(self) -> str:
        return self.image.mode

    def convert(self, mode: str) -> Image.Image:
        return self.image.convert(mode)


def picture(image: Any) -> Image.Image:
    """The normalised RGB picture of anything the loader accepts (a prepared image gives its own)."""
    if isinstance(image, PreparedImage):
        return image.image
    from PIL import Image as PILImage

    if isinstance(image, PILImage.Image):
        return to_rgb(image)
    return load_image(image).image


def model_pixels(
    images: Sequence[Any], model_id: str, transform: Callable[[Image.Image], torch.Tensor]
) -> torch.Tensor:
    """``[n, C, H, W]`` model inputs: the pipeline's pixels for ``model_id`` where prepared, else ``transform`` now."""
    import torch

    out = []
    for im in images:
        px = im.pixels.get(model_id) if isinstance(im, PreparedImage) else None
        out.append(px if px is not None else transform(picture(im)))
    return torch.stack(out)


def model_transforms(reward: Any, *extra_backends: Any) -> list[ModelTransform]:
    """The distinct image transforms of a reward's model-backed components (and any extra backends)."""
    backends = [getattr(c.reward, "backend", None) for c in getattr(reward, "components", [])]
    seen: dict[str, ModelTransform] = {}
    for b in [*backends, *extra_backends]:
        if b is not None and hasattr(b, "image_transform") and b.model_id not in seen:
            seen[b.model_id] = ModelTransform(b.model_id, b.image_transform, int(b.image_size))
    return list(seen.values())


class ImagePipeline:
    """Prepares images for a set of models in ``workers`` threads (0: in-process), batches ahead of their use.

    >>> with ImagePipeline([], workers=0) as pipe:  # no models: just the loader
    ...     [(rows, [type(x).__name__ for x in out]) for rows, out in pipe.map_batches([[b"nope"]], bytes)]
    [([b'nope'], ['ImageError'])]
    """

    def __init__(
        self,
        transforms: Sequence[ModelTransform] = (),
        *,
        workers: int | None = None,
        draft: bool = True,
        lookahead: int = 2,
        root: Any = None,
        allow_outside_root: bool = True,
    ) -> None:
        self.transforms = list(transforms)
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 0:
            raise ValueError(f"workers must be 0 or more, not {workers}")
        self.min_size = max((t.size for t in self.transforms), default=0) if draft else 0
        self.lookahead = max(0, int(lookahead))
        self.root, self.allow_outside_root = root, allow_outside_root
        self._pool = ThreadPoolExecutor(self.workers, "rk-image") if self.workers > 0 else None

    def prepare(self, source: Any, *, name: str = "image") -> PreparedImage:
        """Load ``source`` once and run every model's transform on it, or raise :class:`ImageError`."""
        loaded = load_image(
            source,
            root=self.root,
            allow_outside_root=self.allow_outside_root,
            name=name,
            min_size=self.min_size or None,
        )
        pixels = {}
        for t in self.transforms:
            check_resize(*loaded.image.size, t.size, name=name)
            try:
                pixels[t.model_id] = t.transform(loaded.image)
            except MemoryError:
                raise ImageError("does not fit in memory", name) from None
            except Exception as exc:  # a transform failing on one image is that image's error
                raise ImageError(
                    f"cannot be preprocessed for {t.model_id} ({type(exc).__name__}: {exc})", name
                ) from None
        return PreparedImage(loaded.image, loaded.key, pixels)

    def try_prepare(self, source: Any, name: str = "image") -> PreparedImage | ImageError | None:
        """:meth:`prepare`, with a bad image returned as its error (and ``None`` for no source)."""
        if source is None:
            return None
        try:
            return self.prepare(source, name=name)
        except ImageError as exc:
            return exc

    def map_batches(
        self, batches: Iterable[Sequence[T]], source: Callable[[T], Any]
    ) -> Iterator[tuple[Sequence[T], list[PreparedImage | ImageError | None]]]:
        """``(batch, prepared)`` for every batch, in order; ``source(item)`` is an image input or ``None``.

        With workers, up to ``lookahead`` batches after the one being yielded are prepared meanwhile;
        ``batches`` may be a stream (it is read only that far ahead).
        """
        if self._pool is None:
            for batch in batches:
                yield batch, [self.try_prepare(source(item)) for item in batch]
            return
        pending: deque[tuple[Sequence[T], list[Future[Any]]]] = deque()
        it = iter(batches)
        try:
            while True:
                while len(pending) <= self.lookahead:
                    batch = next(it, None)
                    if batch is None:
                        break
                    pending.append((batch, [self._pool.submit(self.try_prepare, source(x)) for x in batch]))
                if not pending:
                    return
                batch, futures = pending.popleft()
                yield batch, [f.result() for f in futures]
        finally:
            for _, futures in pending:
                for f in futures:
                    f.cancel()

    def close(self) -> None:
        """Stop the worker threads (pending work is cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ImagePipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

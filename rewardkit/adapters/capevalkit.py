"""A bridge both ways between rewardkit and CaptionEvalKit-for-VLMs (``capevalkit``, YuigaWada/CaptionEvalKit-for-VLMs).

* :func:`metric` turns a rewardkit reward, preset or ``PRESET:COMPONENT`` into the callable
  ``capevalkit.evaluate_metric(benchmark=..., metric=...)`` takes: a list of its ``CaptionSample``
  (fields ``id``, ``image`` (a path), ``references``, ``prediction``, ``human_score``) in, a mapping
  ``{sample id: score}`` out (``capevalkit/interfaces/python_api.py``).
* :class:`ScoreFileScorer` reads CaptionEvalKit's per-sample score files (a metric runner's output, or a
  ``capevalkit benchmark`` result) so that ``rewardkit bench --reward capevalkit:FILE[#KEY]`` ranks a metric
  scored there on Pascal-50S, FOIL and the toy probes. :func:`export_samples` writes the samples to score
  (``predictions.jsonl`` / ``references.jsonl`` in the layout ``capevalkit score`` reads), each with the
  content id :func:`sample_id` the scorer looks up.

CaptionEvalKit need not be installed: nothing here imports it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

CAPTION_SAMPLE_FIELDS = ("id", "image", "references", "prediction", "human_score")
"""The fields of ``capevalkit.CaptionSample`` (a frozen dataclass) the metric callable reads."""

ITEM_METADATA_KEYS = {"id", "score", "scores", "ground_truth_score", "caption", "image", "references"}


def _image_digest(image: Any) -> str:
    """Content hash of an image given as a path, encoded bytes or a PIL image."""
    if isinstance(image, bytes):
        return hashlib.sha256(image).hexdigest()
    if isinstance(image, (str, Path)):
        from rewardkit.backends.base import file_key

        return file_key(image)
    from rewardkit.backends.base import image_key

    return image_key(image.convert("RGB") if getattr(image, "mode", "RGB") != "RGB" else image)


def _id(digest: str, caption: str) -> str:
    return hashlib.sha256(f"{digest}\n{caption}".encode()).hexdigest()[:20]


def sample_id(caption: str, image: Any) -> str:
    """A sample's id: a hash of the image's content and the caption (stable across folders and runs)."""
    return _id(_image_digest(image), caption)


# ---------------------------------------------------------------- rewardkit reward -> capevalkit metric


class RewardMetric:
    """``capevalkit.evaluate_metric``'s metric callable for a rewardkit reward: ``samples -> {id: score}``.

    ``reward``: a preset name or file, ``PRESET:COMPONENT``, or any rewardkit reward object (its
    ``score_components(...)["total"]``, or ``score(...)``). Samples without a prediction score their
    benchmark caption as CaptionEvalKit fills it in; references are passed when any sample has them.
    """

    def __init__(self, reward: Any, *, device: str = "auto", batch_size: int = 32) -> None:
        self.batch_size = batch_size
        if isinstance(reward, (str, Path)):
            from rewardkit.bench.reward_scorer import RewardScorer

            self._scorer: Any = RewardScorer(str(reward), device=device, batch_size=batch_size)
            self.name = str(reward)
        else:
            self._scorer = None
            self.reward = reward
            self.name = getattr(reward, "name", type(reward).__name__)

    def _score(self, captions: list[str], images: list[Any], refs: list[list[str]] | None) -> list[float]:
        from rewardkit.bench.reward_scorer import open_images

        if self._scorer is not None:
            return self._scorer(captions, images, refs)
        out: list[float] = []
        for lo in range(0, len(captions), self.batch_size):
            hi = lo + self.batch_size
            inputs: dict[str, Any] = {
                "images": open_images(images[lo:hi]),
                "ended_with_eos": [True] * len(captions[lo:hi]),
            }
            if refs is not None:
                inputs["references"] = refs[lo:hi]
            if hasattr(self.reward, "score_components"):
                out += self.reward.score_components(captions[lo:hi], **inputs)["total"]
            else:
                out += list(self.reward.score(captions[lo:hi], **inputs))
        return [float(v) for v in out]

    def __call__(self, samples: Sequence[Any]) -> dict[str, float]:
        ids, captions, images, refs = [], [], [], []
        for i, s in enumerate(samples):
            missing = [f for f in ("id", "image", "references", "prediction") if not hasattr(s, f)]
            if missing:
                raise RewardkitError(
                    f"sample {i}: not a CaptionSample (no {', '.join(missing)}; fields: {', '.join(CAPTION_SAMPLE_FIELDS)})"
                )
            ids.append(str(s.id))
            captions.append(s.prediction if s.prediction is not None else "")
            images.append(s.image)
            refs.append(list(s.references or []))
        if len(set(ids)) != len(ids):
            raise RewardkitError("samples repeat an id; CaptionEvalKit keys scores by sample id")
        values = self._score(captions, images, refs if any(refs) else None)
        return dict(zip(ids, values))


def metric(reward: Any, *, device: str = "auto", batch_size: int = 32) -> RewardMetric:
    """The callable for ``capevalkit.evaluate_metric(benchmark=..., metric=metric("clipscore"), metric_name=...)``."""
    return RewardMetric(reward, device=device, batch_size=batch_size)


# ---------------------------------------------------------------- capevalkit scores -> rewardkit bench


def _item_score(value: Any, key: str | None, where: str) -> float:
    """One item's score: a number, or the ``key`` (else ``score``, else first numeric) entry of its dict."""
    if not isinstance(value, Mapping):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise RewardkitError(f"{where}: {value!r} is not a score") from None
    scores = value.get("scores") if isinstance(value.get("scores"), Mapping) else None
    for table in (value, scores or {}):
        if key and key in table:
            return float(table[key])
    if scores:
        return float(scores["score"] if "score" in scores else next(iter(scores.values())))
    if "score" in value:
        return float(value["score"])
    for k, v in value.items():
        if k not in ITEM_METADATA_KEYS and isinstance(v, (int, float)):
            return float(v)
    raise RewardkitError(f"{where}: no numeric score{f' {key!r}' if key else ''}")


def read_scores(path: Path, key: str | None = None) -> tuple[str, dict[str, float]]:
    """``(score name, {sample id: score})`` from a CaptionEvalKit score file.

    Reads a metric runner's output (``{"CLIPScore": mean, "per_item": {id: {"CLIPScore": ..}}}`` or
    ``{"NAME": {"score": mean, "per_item": {id: score}}}``) and a ``capevalkit benchmark`` result (the same
    under ``raw_metric_output``). ``key`` picks a score name (e.g. ``RefCLIPScore``) where a file holds several.
    """
    if not path.is_file():
        raise RewardkitError(f"{path}: no such file (a CaptionEvalKit score file)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RewardkitError(
            f"{path}: not a readable JSON file ({' '.join(str(exc).split())[:120]})"
        ) from None
    if not isinstance(data, Mapping):
        raise RewardkitError(f"{path}: expected a JSON object, not {type(data).__name__}")
    if isinstance(data.get("raw_metric_output"), Mapping):
        key = key or data.get("score_name")
        data = data["raw_metric_output"]
    for name, value in data.items():
        if key and name != key:
            continue
        if isinstance(value, Mapping) and isinstance(value.get("per_item"), Mapping):
            return str(name), {
                str(i): _item_score(v, name, f"{path}: {name} {i}") for i, v in value["per_item"].items()
            }
    per_item = data.get("per_item")
    if isinstance(per_item, Mapping):
        first = next(iter(per_item.values()), None)
        if key is None and isinstance(first, Mapping):
            nested = first.get("scores") if isinstance(first.get("scores"), Mapping) else first
            key = (
                "score"
                if "score" in nested
                else next((k for k in nested if k not in ITEM_METADATA_KEYS), None)
            )
        return str(key or "score"), {
            str(i): _item_score(v, key, f"{path}: per_item {i}") for i, v in per_item.items()
        }
    raise RewardkitError(f"{path}: no per_item scores{f' for {key!r}' if key else ''}")


class ScoreFileScorer:
    """A reward whose values come from a CaptionEvalKit score file: ``capevalkit:PATH`` or ``capevalkit:PATH#KEY``.

    Each caption is looked up by :func:`sample_id`; a caption the file does not score is an error naming
    how many are missing and how to export them.
    """

    component = None
    weights: dict[str, float] = {}

    def __init__(self, spec: str) -> None:
        body = spec.removeprefix("capevalkit:")
        path, _, key = body.partition("#")
        if not path:
            raise RewardkitError(
                "--reward capevalkit:FILE needs a score file (capevalkit:FILE or capevalkit:FILE#KEY)"
            )
        self.path = Path(path)
        self.name, self.scores = read_scores(self.path, key or None)
        self.source = f"CaptionEvalKit scores ({self.name}, {self.path.name}), ranked by rewardkit"

    def __call__(
        self,
        captions: Sequence[str],
        images: Sequence[Any],
        references: Sequence[list[str]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[float]:
        digests: dict[Any, str] = {}  # each distinct image hashed once per call
        ids = []
        for c, im in zip(captions, images):
            k = im if isinstance(im, (str, Path, bytes)) else id(im)
            if k not in digests:
                digests[k] = _image_digest(im)
            ids.append(_id(digests[k], c))
        missing = [(i, c) for i, c in zip(ids, captions) if i not in self.scores]
        if missing:
            i, c = missing[0]
            raise RewardkitError(
                f"{self.path}: {len(missing)} of {len(ids)} captions have no score (first: id {i}, {c[:50]!r}); "
                "write the samples with `rewardkit bench --benchmark B --export-samples DIR` and score "
                "DIR/predictions.jsonl with CaptionEvalKit"
            )
        if progress:
            progress(len(ids))
        return [self.scores[i] for i in ids]


class _Recorder:
    """A stand-in reward that records every (caption, image, references) a benchmark would score."""

    component = None
    weights: dict[str, float] = {}

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, Any, list[str]]] = {}

    def __call__(self, captions, images, references=None, progress=None):  # noqa: ANN001, ANN204
        refs = references if references is not None else [[] for _ in captions]
        out = []
        for c, im, r in zip(captions, images, refs):
            sid = sample_id(c, im)
            self.rows.setdefault(sid, (c, im, list(r)))
            out.append(float(len(out)))  # distinct values: every metric stays computable
        return out


def export_samples(
    benchmark: str,
    out: Path,
    *,
    data_dir: Path | None,
    limit: int | None,
    seed: int,
    nebula_corrections: bool = True,
) -> dict[str, Any]:
    """Write the samples a reward benchmark scores as ``OUT/predictions.jsonl`` and ``OUT/references.jsonl``.

    Rows ``{"id", "caption", "image"}`` / ``{"id", "references"}``, ids from :func:`sample_id`; images held in
    memory (parquet sets, toy probes) are written under ``OUT/images/``. Returns the paths and counts.
    """
    from PIL import Image

    from rewardkit.bench.benchmarks import TOY_BENCH_SEED_OFFSET
    from rewardkit.bench.reward_benchmarks import evaluate, prepare_benchmark

    if out.exists() and not out.is_dir():
        raise RewardkitError(f"--export-samples {out}: exists and is not a folder")
    prepared = prepare_benchmark(
        benchmark, data_dir=data_dir, limit=limit, nebula_corrections=nebula_corrections
    )
    rec = _Recorder()
    evaluate(prepared, rec, limit=limit, scene_seed=TOY_BENCH_SEED_OFFSET + seed, tick=None)
    images_dir = out / "images"
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    preds, refs = [], []
    for sid, (caption, image, references) in rec.rows.items():
        if isinstance(image, (str, Path)):
            where = str(Path(image).resolve())
        else:
            digest = _image_digest(image)
            if digest not in written:
                images_dir.mkdir(exist_ok=True)
                if isinstance(image, bytes):
                    with Image.open(io.BytesIO(image)) as im:
                        ext = (im.format or "png").lower().replace("jpeg", "jpg")
                    target = images_dir / f"{digest[:20]}.{ext}"
                    target.write_bytes(image)
                else:
                    target = images_dir / f"{digest[:20]}.png"
                    image.save(target)
                written[digest] = str(target.resolve())
            where = written[digest]
        preds.append({"id": sid, "caption": caption, "image": where})
        refs.append({"id": sid, "references": references})
    p, r = out / "predictions.jsonl", out / "references.jsonl"
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in preds), encoding="utf-8")
    r.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in refs), encoding="utf-8")
    return {"predictions": str(p), "references": str(r), "samples": len(preds), "images": len(written)}

"""The reward service's one handler: ``setup`` loads a preset, ``decode`` checks one request,
``predict`` scores a batch of requests together, ``encode`` answers each in its route's shape.

Both runners (LitServe in one process, Ray Serve replicas) call these four methods and nothing
else, so a request gets the same values whichever runner batched it. Components whose value
depends only on the row are computed over every row of the batch at once; a batch-dependent
component (Φ, VLRM Eq. 5) is computed over the rows of one request — per ``group`` value when
the request gives one — and never over rows of different requests.

Routes and their request shapes:

- ``score``: ``{"captions": [str], "images": [str], "references": [[str]], "ended_with_eos":
  [bool], "group": [str|int]}`` → ``{"total": [...], "components": {name: [...]}}``;
- ``get_reward`` (OpenRLHF's remote reward model, ``openrlhf/utils/agent.py``): ``{"query":
  [str], "prompts": [str], "labels": [str]}`` → ``{"rewards", "scores", "extra_logs"}``; the
  caption is the query after its prompt; a label is the image (path or data URI) or a JSON string
  ``{"image": ..., "references": [...], "ended_with_eos": bool, "eos": str}`` (``eos``: the end
  token's text, removed from the end of the caption and read as ``ended_with_eos``);
- ``slime`` (slime's ``remote_rm``, ``slime/rollout/rm_hub/__init__.py``): ``{"prompt": ...,
  "response": str, "label": str}`` → ``{"total": x, name: x, ...}`` (``--reward-key total``).

Images are paths under the image root or ``data:image/...;base64,`` URIs. NaN is sent as null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.serving.rows import (  # noqa: F401  (re-exported)
    Answer,
    BadRequest,
    Job,
    Rows,
    _batch_dependent,
    score_rows,
)

ROUTES = ("score", "get_reward", "slime")
MAX_CAPTION_CHARS = 10_000
SCORE_KEYS = {"captions", "images", "references", "ended_with_eos", "group"}


def _json_number(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _list(payload: Mapping[str, Any], key: str, *, required: bool) -> list[Any] | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{key}: missing (a list is required)")
        return None
    if not isinstance(value, list):
        raise BadRequest(f"{key}: must be a list, not {type(value).__name__}")
    return value


def _caption(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where}: must be a string, not {type(value).__name__}")
    if len(value) > MAX_CAPTION_CHARS:
        raise BadRequest(f"{where}: {len(value):,} characters (limit {MAX_CAPTION_CHARS:,})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where}: not valid Unicode (a lone surrogate)") from None
    return value


def _references(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise BadRequest(f"{where}: must be a list of strings")
    return value


class RewardHandler:
    """A preset's reward behind the service routes (picklable until :meth:`setup` loads the models)."""

    def __init__(
        self,
        preset: str,
        *,
        image_root: str | Path | None = None,
        device: str = "auto",
        dtype: str = "fp32",
        batch_size: int = 32,
        max_rows: int = 1024,
    ) -> None:
        self.preset = str(preset)
        self.image_root = Path(image_root) if image_root is not None else Path.cwd()
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_rows = max_rows
        self.reward: Any = None
        self.needs_images = True

    # setup -----------------------------------------------------------------------------------
    def setup(self, device: str | None = None) -> None:
        """Load the preset's models once (``device`` overrides the handler's, e.g. a runner's ``cuda:1``)."""
        from rewardkit.presets import build_reward, load_preset
        from rewardkit.registry import TEXT_ONLY_REWARDS

        if device is not None:
            self.device = device
        self.spec = load_preset(self.preset)
        self.reward = build_reward(
            self.spec, device=self.device, dtype=self.dtype, batch_size=self.batch_size
        )
        self.needs_images = any(c.reward.name not in TEXT_ONLY_REWARDS for c in self.reward.components)

    def info(self) -> dict[str, Any]:
        """What ``GET /v1/info`` answers: preset, components, device, dtype, version."""
        from rewardkit import __version__
        from rewardkit.presets import model_spec

        specs = {c.name: c for c in self.spec.components}
        comps = []
        for c in self.reward.components:
            spec = specs[c.name]
            entry: dict[str, Any] = {"name": c.name, "reward": spec.reward, "weight": c.weight, "model": None}
            if spec.model:
                m = model_spec(spec.model, self.spec)
                entry["model"] = {"name": m.name, "checkpoint": m.checkpoint, "pretrained": m.pretrained}
            comps.append(entry)
        return {
            "preset": self.spec.name,
            "components": comps,
            "batch_dependent": [c.name for c in self.reward.components if _batch_dependent(c)],
            "device": str(self._device()),
            "dtype": self.dtype,
            "max_rows": self.max_rows,
            "rewardkit": __version__,
        }

    def _device(self) -> Any:
        from rewardkit.backends.base import resolve_device

        try:
            return resolve_device(self.device)
        except RewardkitError:
            return self.device

    # decode ----------------------------------------------------------------------------------
    def decode(self, route: str, payload: Any) -> Job:
        """One request as a :class:`Job`; a bad request becomes a job with ``error`` (never an exception)."""
        job = Job(route)
        try:
            if route not in ROUTES:
                raise BadRequest(f"route: unknown {route!r}")
            if not isinstance(payload, Mapping):
                raise BadRequest(f"body: must be a JSON object, not {type(payload).__name__}")
            if route == "score":
                job.rows = self._score_rows(payload)
            elif route == "get_reward":
                job.rows = self._openrlhf_rows(payload)
            else:
                job.rows = self._slime_rows(payload)
        except BadRequest as exc:
            job.error = _one_line(str(exc))
        except Exception as exc:  # any other failure to read one request is that request's 400
            job.error = _one_line(f"body: unreadable request ({type(exc).__name__}: {exc})")
        return job

    def _check_count(self, n: int, key: str) -> None:
        if n > self.max_rows:
            raise BadRequest(f"{key}: {n} rows, over the cap of {self.max_rows} per request")

    def _images(self, values: list[Any], key: str) -> tuple[list[Any], list[str]]:
        from rewardkit.serving.images import ImageProblem, request_image

        images, keys = [], []
        for i, v in enumerate(values):
            try:
                im, k = request_image(v, self.image_root)
            except ImageProblem as exc:
                raise BadRequest(f"{key}[{i}]: {exc}") from None
            images.append(im)
            keys.append(k)
        return images, keys

    def _score_rows(self, payload: Mapping[str, Any]) -> Rows:
        unknown = sorted(set(payload) - SCORE_KEYS)
        if unknown:
            raise BadRequest(f"{unknown[0]}: unknown key; known: {', '.join(sorted(SCORE_KEYS))}")
        captions = _list(payload, "captions", required=True)
        assert captions is not None
        n = len(captions)
        self._check_count(n, "captions")
        rows = Rows([_caption(f"captions[{i}]", c) for i, c in enumerate(captions)])
        for key in ("images", "references", "ended_with_eos", "group"):
            col = _list(payload, key, required=key == "images" and self.needs_images)
            if col is not None and len(col) != n:
                raise BadRequest(f"{key}: {len(col)} entries for {n} captions")
        images = payload.get("images")
        if images is not None and self.needs_images:
            rows.images, rows.image_keys = self._images(images, "images")
        refs = payload.get("references")
        if refs is not None:
            rows.references = [_references(f"references[{i}]", r) for i, r in enumerate(refs)]
        eos = payload.get("ended_with_eos")
        if eos is not None:
            for i, e in enumerate(eos):
                if not isinstance(e, bool):
                    raise BadRequest(f"ended_with_eos[{i}]: must be true or false, not {e!r}"[:200])
            rows.ended_with_eos = list(eos)
        group = payload.get("group")
        if group is not None:
            for i, g in enumerate(group):
                if isinstance(g, bool) or not isinstance(g, (str, int)):
                    raise BadRequest(f"group[{i}]: must be a string or an integer")
            rows.group = list(group)
        return rows

    def _label(self, key: str, label: Any) -> dict[str, Any]:
        """A label: the image itself, or a JSON object string with ``image`` and optional extras."""
        if not isinstance(label, str):
            raise BadRequest(
                f"{key}: must be a string (an image, or a JSON object), not {type(label).__name__}"
            )
        if label.lstrip().startswith("{"):
            try:
                obj = json.loads(label)
            except (ValueError, RecursionError):
                raise BadRequest(f"{key}: malformed JSON object") from None
            if not isinstance(obj, dict):
                raise BadRequest(f"{key}: must be a JSON object")
            known = {"image", "references", "ended_with_eos", "eos"}
            unknown = sorted(set(obj) - known)
            if unknown:
                raise BadRequest(f"{key}.{unknown[0]}: unknown key; known: {', '.join(sorted(known))}")
            return obj
        return {"image": label}

    def _label_rows(self, captions: list[str], labels: list[Any], key: str) -> Rows:
        parsed = [self._label(f"{key}[{i}]" if key == "labels" else key, lab) for i, lab in enumerate(labels)]
        where = (lambda i, f: f"{key}[{i}].{f}") if key == "labels" else (lambda i, f: f"{key}.{f}")
        rows = Rows(list(captions))
        ended: list[bool | None] = []
        for i, obj in enumerate(parsed):
            eos = obj.get("eos")
            flag = obj.get("ended_with_eos")
            if flag is not None and not isinstance(flag, bool):
                raise BadRequest(f"{where(i, 'ended_with_eos')}: must be true or false")
            if eos is not None:
                if not isinstance(eos, str) or not eos:
                    raise BadRequest(f"{where(i, 'eos')}: must be a non-empty string")
                text = rows.captions[i].rstrip()
                stopped = text.endswith(eos)
                rows.captions[i] = text[: -len(eos)] if stopped else rows.captions[i]
                flag = stopped if flag is None else flag
            ended.append(flag)
            rows.captions[i] = rows.captions[i].strip()
        if any(e is not None for e in ended):
            if not all(e is not None for e in ended):
                first = next(i for i, e in enumerate(ended) if e is None)
                raise BadRequest(f"{where(first, 'ended_with_eos')}: give it for every row or none")
            rows.ended_with_eos = [bool(e) for e in ended]
        refs = [obj.get("references") for obj in parsed]
        if any(r is not None for r in refs):
            rows.references = [
                [] if r is None else _references(where(i, "references"), r) for i, r in enumerate(refs)
            ]
        if self.needs_images:
            images = []
            for i, obj in enumerate(parsed):
                if obj.get("image") is None:
                    raise BadRequest(f"{where(i, 'image')}: missing (this preset needs the image)")
                images.append(obj["image"])
            try:
                rows.images, rows.image_keys = self._images(images, "labels")
            except BadRequest as exc:
                msg = str(exc)
                if key != "labels":  # slime's single label: name it without an index
                    msg = msg.replace("labels[0]", key, 1)
                raise BadRequest(msg) from None
        return rows

    def _openrlhf_rows(self, payload: Mapping[str, Any]) -> Rows:
        queries = _list(payload, "query", required=True)
        prompts = _list(payload, "prompts", required=False)
        labels = _list(payload, "labels", required=True)
        assert queries is not None and labels is not None
        n = len(queries)
        self._check_count(n, "query")
        for key, col in (("prompts", prompts), ("labels", labels)):
            if col is not None and len(col) != n:
                raise BadRequest(f"{key}: {len(col)} entries for {n} queries")
        captions = []
        for i, q in enumerate(queries):
            q = _caption(f"query[{i}]", q)
            p = prompts[i] if prompts is not None else None
            if p is not None:
                p = _caption(f"prompts[{i}]", p)
                at = q.find(p) if p else -1
                q = q[at + len(p) :] if at >= 0 else q
            captions.append(q)
        return self._label_rows(captions, labels, "labels")

    def _slime_rows(self, payload: Mapping[str, Any]) -> Rows:
        response = _caption("response", payload.get("response"))
        label = payload.get("label")
        if label is None:
            raise BadRequest("label: missing (the image, or a JSON object with 'image')")
        return self._label_rows([response], [label], "label")

    # predict ---------------------------------------------------------------------------------
    def predict(self, jobs: Sequence[Job]) -> list[dict[str, list[float]] | None]:
        """Every good job's component values and ``total`` (``None`` for a refused job), scored together."""
        good = [j for j in jobs if j.error is None and j.rows is not None and len(j.rows)]
        values = score_rows(self.reward, [j.rows for j in good]) if good else []
        by_id = {id(j): v for j, v in zip(good, values)}
        out: list[dict[str, list[float]] | None] = []
        for j in jobs:
            if id(j) in by_id:
                out.append(by_id[id(j)])
            elif j.error is None:
                out.append({"total": [], **{c.name: [] for c in self.reward.components}})
            else:
                out.append(None)
        return out

    # encode ----------------------------------------------------------------------------------
    def encode(self, job: Job, values: dict[str, list[float]] | None) -> Answer:
        """The answer in the job's route shape (400 with ``{"error": ...}`` for a refused job)."""
        if job.error is not None or values is None:
            return Answer(400, {"error": job.error or "bad request"})
        comps = {c.name: [_json_number(v) for v in values[c.name]] for c in self.reward.components}
        total = [_json_number(v) for v in values["total"]]
        rows = len(total)
        if job.route == "score":
            return Answer(200, {"total": total, "components": comps}, rows)
        if job.route == "get_reward":
            return Answer(200, {"rewards": total, "scores": total, "extra_logs": comps}, rows)
        return Answer(200, {"total": total[0], **{k: v[0] for k, v in comps.items()}}, rows)

    @staticmethod
    def failure(exc: BaseException) -> Answer:
        """The answer of every request in a batch that failed inside the models (500, one line)."""
        return Answer(500, {"error": _one_line(f"scoring failed: {type(exc).__name__}: {exc}")})

    def handle(self, route: str, payload: Any) -> Answer:
        """Decode, predict and encode one request in this process (what an in-process adapter calls)."""
        job = self.decode(route, payload)
        return self.encode(job, self.predict([job])[0])

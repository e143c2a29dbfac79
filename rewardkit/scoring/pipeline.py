"""The score pipeline: a check pass, then rows -> fixed batches -> reward components -> OUT.jsonl -> summary.

Two streaming passes over the captions file, neither holding the rows in memory:

1. **check** (:func:`check_input`, before any model loads): every row is read and validated
   (format, required keys, duplicate ids, image files present), the rows are counted and their
   fingerprints hashed; with ``--resume`` OUT's rows are checked against the input in the same
   pass. A user mistake is answered here, in about the time it takes to read the file.
2. **score** (:func:`run_score`): rows are read again, cut into fixed batches in input order,
   scored and appended to OUT; the fingerprints hashed in this pass must equal the check pass's,
   so the rows scored are the rows checked and summarised (a file changed under the run is
   refused).

Standard input (``-``) is read once: its rows are checked as they are scored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.functional.ptb import is_empty_caption
from rewardkit.scoring.output import (
    FINGERPRINT,
    OutputError,
    OutWriter,
    atomic_write_text,
    check_regular_outputs,
    check_setup,
    describe_os_error,
    fingerprints_path,
    iter_out,
    jsonl_bytes,
    jsonl_line,
    merge_outputs,
    read_meta,
    scan_out,
    sidecar,
    truncate_out,
    write_meta,
)
from rewardkit.scoring.rows import (
    STDIN,
    KeySet,
    Row,
    RowError,
    RowReader,
    image_row_error,
    image_source,
    key_digest,
    row_key,
)

try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

ECHO_KEYS = ("id", "image", "caption")
"""Fields of an OUT row that are not scores: the row's id, and its image and caption unless ``--no-echo``."""


@dataclass
class ScoreConfig:
    """Options of one ``rewardkit score`` run."""

    captions: Path
    out: Path
    preset: str = "toy"
    rewards: list[str] | None = None
    image_root: Path | None = None
    on_error: str = "fail"
    resume: bool = False
    batch_size: int = 32
    device: str = "auto"
    dtype: str = "fp32"
    allow_outside_root: bool = False
    java_tokenizer: bool = False
    summary: bool = True
    format: str | None = None
    annotations: Path | None = None
    image_column: str = "image"
    caption_column: str = "caption"
    echo: bool = True
    workers: int | None = (
        None  # image pipeline threads (rewardkit.io.pipeline); None: from the cores, 0: in-process
    )

    @property
    def stdin(self) -> bool:
        return str(self.captions) == STDIN


@dataclass
class ScoreResult:
    """What a run did: rows written, bad rows, the summary and where things went."""

    scored: int = 0
    skipped_existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None
    digest: str | None = None
    stats: ComponentStats | None = None
    corpus: list[tuple[int, Row]] = field(default_factory=list)
    needs_merge: bool = False
    notes: list[str] = field(default_factory=list)
    empty_captions: int = 0  # good rows whose caption is blank or only invisible characters (scored as "")


def default_out(captions: Path) -> Path:
    """``captions.jsonl`` -> ``captions.scores.jsonl`` beside it (``.jsonl.gz``, ``.json``, ``.csv`` alike)."""
    if str(captions) == STDIN:
        raise RewardkitError("reading standard input (-) needs -o OUT.jsonl")
    name = captions.name
    for suffix in (".jsonl.gz", ".ndjson.gz", ".json.gz"):
        if name.lower().endswith(suffix):
            return captions.with_name(name[: -len(suffix)] + ".scores.jsonl")
    return captions.with_name(captions.stem + ".scores.jsonl")


def read_done(out: Path, *, repair: bool = True) -> dict[str, dict[str, Any]]:
    """Rows in OUT by id key (a torn last line is dropped from the file when ``repair``); reads OUT whole."""
    n, good, _ = scan_out(out)
    done: dict[str, dict[str, Any]] = {}
    if n:
        with open(out, "rb") as fh:
            for _ in range(n):
                rec = json.loads(fh.readline())
                done[row_key(rec["id"])] = rec
    if repair and out.exists() and out.stat().st_size != good:
        try:
            with open(out, "r+b") as fh:
                fh.truncate(good)
        except OSError as exc:
            raise OutputError(describe_os_error(out, exc)) from None
    return done


class Plan:
    """What a preset and ``--rewards`` decide before any model loads: components, weights, image needs, setup."""

    def __init__(self, config: ScoreConfig) -> None:
        from rewardkit.presets import PresetError, load_preset
        from rewardkit.registry import REWARDS, TEXT_ONLY_REWARDS

        self.config = config
        self.preset = load_preset(config.preset)
        only = config.rewards
        if only is not None:
            unknown = sorted(set(only) - {c.name for c in self.preset.components})
            if unknown:
                raise PresetError(
                    f"preset {self.preset.name!r} has no component {', '.join(unknown)}; "
                    f"it has {', '.join(c.name for c in self.preset.components)}"
                )
        self.components = [c for c in self.preset.components if only is None or c.name in only]
        self.weights: dict[str, float] = {}
        self.batch_dependent = False
        for c in self.components:
            factory = REWARDS.get(c.reward)
            self.weights[c.name] = (
                float(getattr(factory, "default_weight", 1.0)) if c.weight is None else float(c.weight)
            )
            self.batch_dependent |= bool(getattr(factory, "batch_dependent", False))
        self.needs_images = any(c.reward not in TEXT_ONLY_REWARDS for c in self.components)
        self.has_evaluator = bool(self.preset.evaluator)
        bad = sorted(set(self.weights) & {"image", "caption", "id"})
        if bad:
            raise PresetError(f"a component may not be named {bad[0]!r} (an OUT row's own field)")

    def models(self) -> list[str]:
        """The model keys the reward loads."""
        return list(dict.fromkeys(c.model for c in self.components if c.model))

    def setup(self) -> dict[str, Any]:
        """What decides every row's scores besides the row: components, weights, models, options, dtype."""
        from rewardkit.presets import model_identity, model_spec

        comps: dict[str, Any] = {}
        for c in self.components:
            entry: dict[str, Any] = {
                "reward": c.reward,
                "weight": self.weights[c.name],
                "options": dict(c.options),
            }
            if c.model:  # what decides its outputs, not the folder it is installed in
                entry["model"] = model_identity(model_spec(c.model, self.preset))
            comps[c.name] = entry
        setup: dict[str, Any] = {"components": comps, "dtype": self.config.dtype}
        if self.batch_dependent:  # Φ is computed over each batch: its values depend on the batching
            setup["batch_size"] = self.config.batch_size
        return setup


class Scorer:
    """Scores rows with a preset's reward, batch by batch (loads the models)."""

    def __init__(self, config: ScoreConfig, plan: Plan | None = None) -> None:
        from rewardkit.presets import build_reward

        self.config = config
        self.plan = plan or Plan(config)
        self.preset = self.plan.preset
        self.reward = build_reward(
            self.preset,
            only=config.rewards,
            device=config.device,
            dtype=config.dtype,
            batch_size=config.batch_size,
        )
        self.needs_images = self.plan.needs_images
        self.batch_dependent = any(
            getattr(c.reward, "batch_dependent", False) for c in self.reward.components
        )

    def setup(self) -> dict[str, Any]:
        """What decides every row's scores besides the row (see :meth:`Plan.setup`)."""
        return self.plan.setup()

    def image_pipeline(self) -> Any:
        """The parallel image pipeline for this reward's models (``workers`` threads; see rewardkit.io.pipeline)."""
        from rewardkit.io.pipeline import ImagePipeline, model_transforms

        if not self.needs_images:  # text-only rewards: no threads, nothing to prepare
            return ImagePipeline([], workers=0)
        return ImagePipeline(model_transforms(self.reward), workers=self.config.workers)

    def score_batch(self, rows: Sequence[Row], images: Sequence[Any] | None) -> list[dict[str, Any]]:
        """Output records of one batch of good rows: id, image and caption (unless ``echo`` is off), scores."""
        from rewardkit.backends.base import image_key
        from rewardkit.rewards.groups import score_components_grouped

        inputs: dict[str, Any] = {"references": [r.references for r in rows]}
        if all("ended_with_eos" in r.extra for r in rows):
            inputs["ended_with_eos"] = [bool(r.extra["ended_with_eos"]) for r in rows]
        if images is not None:
            inputs["images"] = list(images)
            inputs["image_keys"] = [image_key(im) for im in images]  # a prepared image keeps its own
        # Φ (batch-dependent) over distinct images: a batch repeating an image is split into groups
        values = score_components_grouped(
            self.reward, [r.caption for r in rows], inputs.get("image_keys") or [r.id for r in rows], **inputs
        )
        return self.records(rows, values)

    def records(self, rows: Sequence[Row], values: dict[str, Sequence[float]]) -> list[dict[str, Any]]:
        """OUT rows from a batch's component values (NaN written as null)."""
        columns = [(k, [None if v != v else v for v in vals]) for k, vals in values.items()]
        echo = self.config.echo
        records = []
        for i, r in enumerate(rows):
            rec: dict[str, Any] = {"id": r.id}
            if echo:
                if r.image_text is not None:
                    rec["image"] = r.image_text
                rec["caption"] = r.caption
            for k, col in columns:
                rec[k] = col[i]
            records.append(rec)
        return records


class ComponentStats:
    """Mean, std and count of every score field of OUT rows, accumulated as rows stream (Welford)."""

    def __init__(self) -> None:
        self._acc: dict[str, list[float]] = {}
        self.rows = 0

    def add(self, rec: dict[str, Any]) -> None:
        """One OUT row."""
        self.add_many([rec])

    def add_many(self, recs: Sequence[dict[str, Any]]) -> None:
        """Several OUT rows, merged per field with Chan et al.'s parallel update (one pass over each column)."""
        if not recs:
            return
        self.rows += len(recs)
        names = [k for k in recs[0] if k not in ECHO_KEYS]
        for rec in recs[1:]:
            if len(rec) != len(recs[0]):
                names.extend(k for k in rec if k not in ECHO_KEYS and k not in names)
        for name in names:
            vals = [
                float(v)
                for v in (rec.get(name) for rec in recs)
                if v is not None and not isinstance(v, bool) and isinstance(v, (int, float)) and v == v
            ]
            if not vals:
                continue
            n_b = len(vals)
            mean_b = math.fsum(vals) / n_b
            m2_b = math.fsum((v - mean_b) ** 2 for v in vals)
            acc = self._acc.get(name)
            if acc is None:
                self._acc[name] = [float(n_b), mean_b, m2_b]
                continue
            n_a, mean_a, m2_a = acc
            n = n_a + n_b
            delta = mean_b - mean_a
            acc[0], acc[1], acc[2] = n, mean_a + delta * n_b / n, m2_a + m2_b + delta * delta * n_a * n_b / n

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, (n, mean, m2) in self._acc.items():
            var = m2 / (n - 1) if n > 1 else 0.0
            out[name] = {"mean": mean, "std": math.sqrt(max(var, 0.0)), "n": int(n)}
        return out


class NotPrepared(RewardkitError):
    """OUT was not prepared (in use, or a resume refused): nothing may be merged into it."""


def shard_path(out: Path, rank: int) -> Path:
    """This process's part file when scoring is sharded (or a resumed run fills gaps in OUT)."""
    return sidecar(out, f".part{rank}.jsonl")


def _parts(out: Path) -> list[Path]:
    """Every part file beside OUT (of any earlier world size too)."""
    prefix = sidecar(out, ".part").name
    return sorted(
        p for p in out.parent.glob(prefix + "*.jsonl") if p.name[len(prefix) : -len(".jsonl")].isdigit()
    )


def output_paths(config: ScoreConfig, world: int = 1) -> list[Path]:
    """OUT and every sidecar a run may write, replace or delete."""
    out = config.out
    paths = [out, fingerprints_path(out)]
    paths += [sidecar(out, s) for s in (".summary.json", ".errors.jsonl", ".meta.json", ".lock")]
    for part in {*(_parts(out) if out.parent.is_dir() else []), *(shard_path(out, r) for r in range(world))}:
        paths += [part, fingerprints_path(part)]
    return paths


def make_reader(
    config: ScoreConfig, needs_image: bool, *, check_images: bool = True, dedupe: str = "exact"
) -> RowReader:
    """The row reader for a run's captions file and options."""
    return RowReader(
        config.captions,
        dedupe=dedupe,
        format=config.format,
        image_root=config.image_root,
        needs_image=needs_image,
        allow_outside_root=config.allow_outside_root,
        check_images=check_images,
        annotations=config.annotations,
        image_column=config.image_column,
        caption_column=config.caption_column,
    )


@dataclass
class InputCheck:
    """What the check pass found: row counts, the rows' digest, and how many OUT rows a resume keeps."""

    rows: int = 0
    errors: int = 0
    digest: str = ""
    keep: int = 0
    unknown_keys: dict[str, int] = field(default_factory=dict)
    duplicates: dict[bytes, int] = field(default_factory=dict)


class _DoneCursor:
    """OUT's kept rows, matched in order against the input rows they were scored from."""

    def __init__(self, config: ScoreConfig, keep: int) -> None:
        self.out = config.out
        self._it = iter_out(config.out, keep)
        self.pending = next(self._it, None)
        self.last = -1

    def match(self, g: int, row: Row, kd: bytes, fp: bytes) -> bytes | None:
        """OUT's line for this row if it is already scored (checked against its fingerprint), else ``None``."""
        p = self.pending
        if p is None or p[2] != kd:
            return None
        raw, g0, _, fp0 = p
        place = row.where.strip(" ()") if row.where else f"line {row.line}"
        if fp0 != fp:
            raise OutputError(
                f"{self.out}: cannot resume: id {row.key!r} ({place}) differs from the row that was scored "
                "(caption, image, references, style or ended_with_eos changed); rerun without --resume or "
                "choose another -o"
            )
        if g0 != g:
            raise OutputError(
                f"{self.out}: cannot resume: id {row.key!r} ({place}) is not where it was when it was scored "
                "(rows were added or removed before it); rerun without --resume or choose another -o"
            )
        self.pending = next(self._it, None)
        return raw

    def finish(self, seen: KeySet) -> None:
        """Refuse when OUT holds rows the input no longer has (or has in another order)."""
        if self.pending is None:
            return
        raw, _, kd, _ = self.pending
        try:
            shown = repr(row_key(json.loads(raw)["id"]))
        except (ValueError, KeyError, TypeError):
            shown = "?"
        if kd in seen:
            raise OutputError(
                f"{self.out}: cannot resume: it holds id {shown} in another order than the captions file "
                "(rows were reordered); rerun without --resume or choose another -o"
            )
        raise OutputError(
            f"{self.out}: cannot resume: it holds id {shown}, which the captions file no longer has; "
            "rerun without --resume or choose another -o"
        )


def check_input(config: ScoreConfig, plan: Plan) -> InputCheck:
    """The check pass (no model needed): validate every row, count them, and check a resume against OUT.

    With ``--on-error fail`` the first bad row is raised here, before anything is written.
    """
    reader = make_reader(config, plan.needs_images, dedupe="bloom")
    found = InputCheck()
    cursor = None
    if config.resume:
        if _parts(config.out):  # an interrupted sharded run (or gap rows): fold them into OUT first
            merge_outputs(config.out, _parts(config.out))
        n, _, n_fp = scan_out(config.out)
        if n:
            meta = read_meta(config.out)
            if meta is None:
                raise OutputError(
                    f"{config.out}: holds {n} rows but no {sidecar(config.out, '.meta.json').name} saying what "
                    "produced them; rerun without --resume"
                )
            check_setup(config.out, meta, plan.setup())
            if not fingerprints_path(config.out).exists():
                raise OutputError(
                    f"{config.out}: holds {n} rows but no {fingerprints_path(config.out).name} to check them "
                    "against; rerun without --resume"
                )
            found.keep = min(n, n_fp)
            cursor = _DoneCursor(config, found.keep)
    g = -1
    for item in reader:
        if isinstance(item, RowError):
            if config.on_error == "fail":
                _, dups = reader.duplicates(upto=item.line)
                raise dups[0] if dups else item
            found.errors += 1
            continue
        g += 1  # duplicates, found after this pass, take their place too (as in the score pass)
        if cursor is not None:
            cursor.match(g, item, key_digest(item.key), item.fingerprint_bytes())
    found.duplicates, dups = reader.duplicates()
    if dups and config.on_error == "fail":
        raise dups[0]
    found.rows = g + 1 - len(dups)
    found.errors += len(dups)
    if cursor is not None:
        cursor.finish(reader.seen)
    if not found.rows and not found.errors:
        raise RewardkitError(f"{config.captions}: empty file, no rows to score")
    found.digest = reader.digest.hexdigest()
    found.unknown_keys = dict(reader.unknown_keys)
    if config.resume and config.out.exists():
        truncate_out(config.out, found.keep)  # a torn last line (or rows without their record) goes
    return found


def prepare_out(config: ScoreConfig, setup: dict[str, Any], rows: Any = None) -> None:
    """Before any row is written: clear a fresh run's files (a resume keeps OUT), record the meta.

    A summary never outlives the rows it describes (it is removed here and written again at the end).
    """
    out = config.out
    if config.resume:
        stale = [sidecar(out, ".summary.json")]
    else:
        stale = [out, fingerprints_path(out), sidecar(out, ".summary.json"), sidecar(out, ".errors.jsonl")]
        for part in _parts(out):
            stale += [part, fingerprints_path(part)]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for path in stale:
            path.unlink(missing_ok=True)
        write_meta(out, setup)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc)) from None


def _last_position(out: Path, keep: int) -> int:
    """The input position of OUT's last kept row (-1 when OUT is empty)."""
    if keep <= 0:
        return -1
    with open(fingerprints_path(out), "rb") as fh:
        fh.seek((keep - 1) * FINGERPRINT.size)
        return FINGERPRINT.unpack(fh.read(FINGERPRINT.size))[0]


def _wants_corpus(row: Row, plan: Plan) -> bool:
    """Whether the summary's corpus metrics need this row (an image for the evaluator, references, a style)."""
    return bool(row.references is not None or row.style or (plan.has_evaluator and row.has_image))


def _slim(row: Row) -> Row:
    """The row as the summary keeps it: no inline image bytes (read again by reference) and no extras."""
    return Row(
        row.line, row.id, row.caption, row.image, row.image_text, row.references, row.style,
        {}, row.implicit_id, None, row.image_ref, row.where,
    )  # fmt: skip


def run_score(
    config: ScoreConfig,
    *,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    sync: Callable[[str | None], list[str | None]] | None = None,
    stage: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Score a captions file into ``config.out`` (this process's part file when ``world > 1``).

    Rank 0 runs the check pass (:func:`check_input`) before any model loads and reports the row
    total; then the models load and the rows stream through fixed batches of ``batch_size`` in
    input order, so a resumed run scores exactly the batches an uninterrupted run would; a
    batch-dependent reward (Φ) is computed over the whole batch even when part of it is already in
    OUT, so resumed values equal an uninterrupted run's. With ``on_error="fail"`` the first bad row
    raises :class:`RowError` after the rows before it are written. With ``world > 1``, ``sync``
    gathers every rank's failure so that all stop together.
    """
    plan = Plan(config)
    if config.device not in (None, "auto") and (plan.models() or plan.has_evaluator):
        from rewardkit.backends.base import resolve_device

        resolve_device(config.device)  # an option mistake: said before the rows are read

    def check_rows() -> InputCheck | None:
        if config.stdin:
            return None
        found = check_input(config, plan)
        if on_total is not None:
            on_total(found.rows - found.keep)
        return found

    check: InputCheck | None = _on_rank0(rank, sync, check_rows)
    if stage is not None:
        models = plan.models()
        stage(f"loading {', '.join(models)}" if models else "loading rewards")
    scorer = Scorer(config, plan)
    _on_rank0(rank, sync, lambda: prepare_out(config, plan.setup()))
    if stage is not None:
        stage("scoring")
    keep = check.keep if check is not None else 0
    if rank != 0 and config.resume:
        n, _, n_fp = scan_out(config.out)
        keep = min(n, n_fp)
    result = _stream(config, plan, scorer, rank, world, keep, check, progress)
    if check is not None and check.unknown_keys:
        first = sorted(check.unknown_keys.items(), key=lambda kv: kv[1])
        result.notes.append(
            "rows have keys rewardkit does not read: "
            + ", ".join(f"{k!r} (first at row {pos})" for k, pos in first[:5])
        )
    return result


def _stream(
    config: ScoreConfig,
    plan: Plan,
    scorer: Scorer,
    rank: int,
    world: int,
    keep: int,
    check: InputCheck | None,
    progress: Callable[[int], None] | None,
) -> ScoreResult:
    """The score pass: read, batch, score and append, keeping only the current batch in memory."""
    result = ScoreResult(out=config.out, stats=ComponentStats())
    stats = result.stats
    assert stats is not None
    fail = config.on_error == "fail"
    bs = config.batch_size
    cursor = _DoneCursor(config, keep) if keep else None
    last_out = _last_position(config.out, keep)
    reader = make_reader(config, plan.needs_images)
    if check is not None:  # duplicates found by the check pass: no per-row memory (other ranks keep a KeySet)
        reader.known_duplicates = check.duplicates
    keep_corpus = config.summary and rank == 0
    writers: dict[Path, OutWriter] = {}

    def writer_for(g: int) -> OutWriter:
        path = shard_path(config.out, rank) if world > 1 or g <= last_out else config.out
        w = writers.get(path)
        if w is None:
            if path != config.out:
                result.needs_merge = True
            w = writers[path] = OutWriter(path)
        return w

    def process(batch: list[tuple[int, Row, bytes, bytes, bytes | None]], prepared: list[Any]) -> None:
        todo = [e for e in batch if e[4] is None]
        loaded = {id(e): p for e, p in zip(batch, prepared)}
        failure_row: RowError | None = None
        scored: list[tuple[int, Row, bytes, bytes, dict[str, Any]]] = []
        if todo:
            # Only a batch-dependent reward needs the rows already done to score the rest exactly.
            batch_rows = batch if scorer.batch_dependent else todo
            good, images = [], []
            for e in batch_rows:
                row = e[1]
                if scorer.needs_images and row.has_image:
                    try:
                        images.append(row_image(row, loaded[id(e)], config.captions))
                    except RowError as exc:
                        if e[4] is None:
                            if fail:
                                failure_row = exc
                                break
                            result.errors.append(exc)
                        continue
                good.append(e)
            if good and (failure_row is None or not scorer.batch_dependent):
                records = scorer.score_batch([e[1] for e in good], images if scorer.needs_images else None)
                scored = [(e[0], e[1], e[2], e[3], rec) for e, rec in zip(good, records) if e[4] is None]
        by_writer: dict[OutWriter, list[tuple[int, bytes, bytes, bytes]]] = {}
        for g, _row, kd, fp, rec in scored:
            by_writer.setdefault(writer_for(g), []).append((g, kd, fp, jsonl_bytes(rec)))
        for w, lines in by_writer.items():
            w.write(lines)
        result.scored += len(scored)
        if world == 1:
            new = iter(scored)
            nxt = next(new, None)
            recs = []
            for g, row, _, _, raw in batch:
                if raw is not None:
                    recs.append(_loads(raw))
                elif nxt is not None and nxt[0] == g:
                    recs.append(nxt[4])
                    nxt = next(new, None)
                else:
                    continue
                if keep_corpus and _wants_corpus(row, plan):
                    result.corpus.append((g, _slim(row)))
            stats.add_many(recs)
        if progress is not None:
            progress(len(todo))
        if failure_row is not None:
            raise failure_row

    if world == 1:
        writer_for(last_out + 1)  # OUT exists (maybe empty) once a run has started
    seen = [-1]  # the last row position read (duplicates included)

    def batches() -> Iterator[list[Any]]:
        """Batches of this rank's rows, read as a stream; a fatal row error comes as a ``_Fatal`` batch
        after the rows before it, so the image pipeline's read-ahead never skips their writing."""
        batch: list[tuple[int, Row, bytes, bytes, bytes | None]] = []
        g = -1
        for item in reader:
            if isinstance(item, RowError):
                if item.duplicate:
                    g += 1
                if fail:
                    if batch and not scorer.batch_dependent:
                        yield batch
                    seen[0] = g
                    yield _Fatal(item)
                    return
                if rank == 0 or world == 1:
                    result.errors.append(item)
                continue
            g += 1
            if (rank == 0 or world == 1) and is_empty_caption(item.caption):
                result.empty_captions += 1
            kd = key_digest(item.key)
            fp = item.fingerprint_bytes()
            raw = cursor.match(g, item, kd, fp) if cursor is not None else None
            if raw is not None:
                result.skipped_existing += 1
            if world > 1 and keep_corpus and _wants_corpus(item, plan):
                result.corpus.append((g, _slim(item)))
            if (g // bs) % world == rank:
                batch.append((g, item, kd, fp, raw))
            if g % bs == bs - 1:
                if batch:
                    yield batch
                batch = []
        seen[0] = g
        if batch:
            yield batch

    needs_images, batch_dependent = scorer.needs_images, scorer.batch_dependent

    def source(e: tuple[int, Row, bytes, bytes, bytes | None]) -> Any:
        """What the pipeline loads for a row: its image when this run scores it, else nothing."""
        row = e[1]
        if not (needs_images and row.has_image and (batch_dependent or e[4] is None)):
            return None
        return image_source(row)

    try:
        with scorer.image_pipeline() as pipe:
            for batch, prepared in pipe.map_batches(batches(), source):
                if isinstance(batch, _Fatal):
                    raise batch.error
                process(batch, prepared)
        if seen[0] < 0 and not result.errors and config.stdin:
            raise RewardkitError("standard input: empty, no rows to score")
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except OutputError:
                pass
        raise
    for w in writers.values():
        w.close()
    result.digest = reader.digest.hexdigest()
    if check is not None and result.digest != check.digest:
        raise OutputError(
            f"{config.captions}: changed while it was being scored (its rows differ from those checked when the "
            f"run started); {config.out} may hold rows of both versions: rerun without --resume"
        )
    result.errors.sort(key=lambda e: e.line)
    return result


def _on_rank0(
    rank: int, sync: Callable[[str | None], list[str | None]] | None, step: Callable[[], Any]
) -> Any:
    """Run ``step`` on rank 0; with ``sync`` (a sharded run) every rank learns of its failure and stops."""
    value, failure = None, None
    if rank == 0:
        try:
            value = step()
        except RewardkitError as exc:
            if sync is None:
                raise
            failure = str(exc)
    if sync is not None:
        problems = [f for f in sync(failure) if f]
        if problems:
            raise NotPrepared(problems[0])
    return value


class _Fatal(list):
    """An empty batch carrying the row error that ends a ``--on-error fail`` run."""

    def __init__(self, error: RowError) -> None:
        super().__init__()
        self.error = error


def row_image(row: Row, prepared: Any, path: Path | str) -> Any:
    """The pipeline's image of a row, or its :class:`RowError` (a bad image is that row's error, with its line)."""
    from rewardkit.io.images import ImageError

    if isinstance(prepared, ImageError):
        raise image_row_error(row, path, prepared)
    if prepared is None:
        raise row.error(path, "the row has no image")
    return prepared


def _attach_records(
    out: Path, corpus: list[tuple[int, Row]]
) -> tuple[list[Row], list[dict[str, Any]], ComponentStats]:
    """Stream OUT once: component stats, and the corpus rows that are in OUT with their records."""
    stats = ComponentStats()
    rows: list[Row] = []
    records: list[dict[str, Any]] = []
    n, _, n_fp = scan_out(out)
    j = 0
    for raw, g, _, _ in iter_out(out, min(n, n_fp)):
        rec = json.loads(raw)
        stats.add(rec)
        while j < len(corpus) and corpus[j][0] < g:
            j += 1
        if j < len(corpus) and corpus[j][0] == g:
            rows.append(corpus[j][1])
            records.append(rec)
            j += 1
    return rows, records, stats


def finish(
    config: ScoreConfig,
    result: ScoreResult,
    *,
    world: int = 1,
    quiet: bool = False,
    stage: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Merge part files (sharded runs, gap rows of a resume) in one streaming pass, write the errors file and the summary.

    A single-process run's OUT is already in input order and is not rewritten.
    """
    from rewardkit.scoring.summary import summarise

    parts = _parts(config.out)
    if parts and (world > 1 or result.needs_merge):
        merge_outputs(config.out, parts)
    errors_path = sidecar(config.out, ".errors.jsonl")
    try:
        if result.errors:
            atomic_write_text(errors_path, "".join(jsonl_line(e.record()) for e in result.errors))
        else:
            errors_path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(config.out, exc)) from None
    if config.summary:
        corpus = result.corpus
        if world == 1 and result.stats is not None and not result.needs_merge:
            # the records of corpus rows are read back from OUT in one pass; stats were kept while scoring
            stats = result.stats
            if corpus:
                rows, records, _ = _attach_records(config.out, corpus)
            else:
                rows, records = [], []
        else:
            rows, records, stats = _attach_records(config.out, corpus)
        summary = summarise(
            config, rows, records, result, components=stats.result(), n_scored=stats.rows, stage=stage
        )
        try:
            atomic_write_text(
                sidecar(config.out, ".summary.json"), json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
            )
        except OSError as exc:
            raise OutputError(describe_os_error(sidecar(config.out, ".summary.json"), exc)) from None
        result.summary = summary
    return result


def score_file(config: ScoreConfig, **kwargs: Any) -> ScoreResult:
    """One process: hold OUT's lock, check, score and summarise (what ``rewardkit score`` runs)."""
    from rewardkit.scoring.output import output_lock

    stage = kwargs.pop("stage", None)
    check_config(config)
    with output_lock(config.out):
        return finish(config, run_score(config, stage=stage, **kwargs), stage=stage)


def check_config(config: ScoreConfig, world: int = 1) -> None:
    """Refuse option mistakes and outputs that are not regular files, before anything is written or loaded."""
    if config.on_error not in ("fail", "skip"):
        raise RewardkitError(f"--on-error must be 'fail' or 'skip', not {config.on_error!r}")
    if config.batch_size < 1:
        raise RewardkitError(f"--batch-size must be at least 1, not {config.batch_size}")
    if config.rewards is not None and not config.rewards:
        raise RewardkitError(
            "--rewards names no component (give a comma-separated list, e.g. --rewards itm,bad)"
        )
    if config.stdin:
        if config.resume:
            raise RewardkitError(
                "--resume cannot be used with standard input (-): a pipe cannot be read again to check the rows "
                "OUT already holds; save the input to a file"
            )
        if world > 1:
            raise RewardkitError("a sharded run cannot read standard input (-): every process reads the file")
    elif Path(config.out).resolve() == Path(config.captions).resolve():
        raise RewardkitError("the output file must differ from the captions file")
    check_regular_outputs(output_paths(config, world), config.out.parent)

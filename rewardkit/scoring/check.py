"""The check pass of ``rewardkit score`` (before any model loads): option mistakes, every row validated and
counted, a resume checked against OUT."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rewardkit.errors import RewardkitError
from rewardkit.scoring.output import (
    OutputError,
    check_regular_outputs,
    fingerprints_path,
    merge_outputs,
    scan_out,
    sidecar,
    truncate_out,
)
from rewardkit.scoring.plan import Plan, ScoreConfig
from rewardkit.scoring.resume import DoneCursor, check_setup, output_paths, part_files, read_meta
from rewardkit.scoring.row import STDIN, RowError, key_digest
from rewardkit.scoring.rows import RowReader


def default_out(captions: Path) -> Path:
    """``captions.jsonl`` -> ``captions.scores.jsonl`` beside it (``.jsonl.gz``, ``.json``, ``.csv`` alike)."""
    if str(captions) == STDIN:
        raise RewardkitError("reading standard input (-) needs -o OUT.jsonl")
    name = captions.name
    for suffix in (".jsonl.gz", ".ndjson.gz", ".json.gz"):
        if name.lower().endswith(suffix):
            return captions.with_name(name[: -len(suffix)] + ".scores.jsonl")
    return captions.with_name(captions.stem + ".scores.jsonl")


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


def check_input(config: ScoreConfig, plan: Plan) -> InputCheck:
    """The check pass (no model needed): validate every row, count them, and check a resume against OUT.

    With ``--on-error fail`` the first bad row is raised here, before anything is written.
    """
    reader = make_reader(config, plan.needs_images, dedupe="bloom")
    found = InputCheck()
    cursor = None
    if config.resume:
        if part_files(config.out):  # an interrupted sharded run (or gap rows): fold them into OUT first
            merge_outputs(config.out, part_files(config.out))
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
            cursor = DoneCursor(config.out, found.keep)
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
    check_regular_outputs(output_paths(config.out, world), config.out.parent)

"""``rewardkit toy``: make toy captions sets, train the toy models, measure their quality bars."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rewardkit.errors import RewardkitError


def _tier_names() -> str:
    from rewardkit.registry import TIERS

    aliases = TIERS.aliases()
    return ", ".join(n + "".join(f" ({a})" for a, t in aliases.items() if t == n) for n in TIERS.names())


TIER_NAMES = _tier_names()
"""The tiers and their aliases, for help texts (from the registry)."""

app = typer.Typer(
    help="The toy world: procedural scenes and the small models shipped with rewardkit.", no_args_is_help=True
)


@app.command("make-set")
def make_set(
    n: int = typer.Option(100, "--n", help="Number of scenes."),
    seed: int = typer.Option(0, "--seed", help="Scene seed (the same set on every machine)."),
    out: Path = typer.Option(..., "--out", help="Folder for images/ and captions.jsonl."),
    tier: str = typer.Option("toy", "--tier", help=f"A toy tier: {TIER_NAMES} (`rewardkit list tiers`)."),
) -> None:
    """Write OUT/images/*.png and OUT/captions.jsonl (id, image, caption, terse, references, scene)."""
    from rich.progress import Progress

    from rewardkit.errors import RewardkitError
    from rewardkit.registry import TIERS
    from rewardkit.toy.dataset import make_set as write

    if n < 1:
        raise RewardkitError(f"--n must be at least 1, not {n}")
    spec = TIERS.get(tier)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("rendering", total=n)
        path = write(n, seed, out, spec, progress=lambda k: bar.advance(task, k))
    Console(stderr=True).print(f"wrote {n} scenes to {path}")


def _own_folder(flag: str, path: Path) -> Path:
    """``path`` expanded, refused when it lies inside the installed package or is a file."""
    folder = path.expanduser()
    package = Path(__file__).resolve().parent.parent  # the installed rewardkit package
    if folder.resolve() == package or package in folder.resolve().parents:
        raise RewardkitError(
            f"{flag} {path} is inside the installed rewardkit package ({package}); choose a folder of your own"
        )
    if folder.exists() and not folder.is_dir():
        raise RewardkitError(f"{flag} {path} is a file; choose a folder")
    return folder


@app.command("train-models")
def train_models(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder to save the models in (required: the shipped models inside the package are never "
        "overwritten; score with them through a preset file pointing at this folder).",
    ),
    seed: int = typer.Option(0, "--seed", help="Training seed."),
    only: str = typer.Option(
        "clip,itm,captioner",
        "--only",
        help="Comma-separated: clip, itm, captioner (captioner also writes opt), judge (toy-hard's held-out "
        "evaluator, used by no preset).",
    ),
    tier: str = typer.Option("toy", "--tier", help=f"A toy tier: {TIER_NAMES} (`rewardkit list tiers`)."),
    init: Path | None = typer.Option(
        None,
        "--init",
        help="Continue the clip/itm saved in this folder (its clip/, itm/) with the tier's 'continue' budget "
        "instead of training from scratch.",
    ),
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="Folder for resumable training state (one subfolder per model, saved every ~2 min): run the "
        "same command again after a stop and it continues where it stopped.",
    ),
) -> None:
    """Train the toy models (each at most ~20 min on 2 CPU cores) and save them in loader formats."""
    from rewardkit.registry import TIERS
    from rewardkit.toy.training.captioner import train_captioner
    from rewardkit.toy.training.clip import train_clip
    from rewardkit.toy.training.itm import train_itm

    spec = TIERS.get(tier)
    budget = spec.budget()
    if out is None:
        raise RewardkitError(
            "toy train-models needs --out FOLDER (the shipped models inside the package are never overwritten)"
        )
    root = _own_folder("--out", out)
    parts = {p.strip() for p in only.split(",") if p.strip()}
    if not parts:
        raise RewardkitError("--only names no model; choose from clip, itm, captioner, judge")
    if checkpoint is not None:
        _own_folder("--checkpoint", checkpoint)
    if init is not None and not init.expanduser().is_dir():
        raise RewardkitError(f"--init {init}: no such folder")
    known = {"clip", "itm", "captioner", "judge"}
    unknown = parts - known
    if unknown:
        raise RewardkitError(
            f"--only: unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    if "judge" in parts and "judge" not in budget:
        raise RewardkitError(f"--only judge: the {spec.name} tier has no judge (only toy-hard does)")
    if init is not None:
        if "continue" not in budget:
            raise RewardkitError(
                f"--init: the {spec.name} tier has no 'continue' budget (only toy-hard does)"
            )
        needs = {"clip": "open_clip_model.safetensors", "itm": "model.safetensors"}
        for part in sorted(parts & {"clip", "itm"}):
            if not (init / part).is_dir():
                raise RewardkitError(f"--init {init}: no {part}/ folder in it")
            if not (init / part / needs[part]).is_file():
                raise RewardkitError(f"--init {init}: {part}/ holds no {needs[part]} (a saved toy {part})")
        if parts - {"clip", "itm"}:
            raise RewardkitError("--init continues clip and itm only; train the others without --init")
    from rewardkit.cli import errors

    errors.interrupt_hint = "the training state saved so far is kept; rerun the same command to continue"
    console = Console(stderr=True)

    def state(part: str) -> Path | None:
        return None if checkpoint is None else checkpoint.expanduser() / part

    def settings(part: str) -> dict:
        if init is None:
            return dict(budget.get(part, {}), checkpoint=state(part))
        return dict(budget["continue"][part], init=init / part, checkpoint=state(part))

    if "clip" in parts:
        train_clip(root / "clip", seed=seed, tier=spec, log=console.print, **settings("clip"))
    if "itm" in parts:
        train_itm(root / "itm", seed=seed, tier=spec, log=console.print, **settings("itm"))
    if "judge" in parts:
        from rewardkit.toy.training.common import JUDGE_SEED_OFFSET

        judge_seed = seed + JUDGE_SEED_OFFSET
        train_clip(
            root / "judge",
            seed=judge_seed,
            pool_seed=judge_seed,
            tier=spec,
            log=console.print,
            **settings("judge"),
        )
    if "captioner" in parts:
        train_captioner(
            root / "opt",
            root / "captioner",
            root / "itm",
            seed=seed,
            tier=spec,
            log=console.print,
            **budget.get("captioner", {}),
        )


@app.command("quality")
def quality(
    n: int = typer.Option(1000, "--n", help="Held-out scenes."),
    seed: int = typer.Option(1000, "--seed", help="Seed of the held-out scenes (training uses 0-2)."),
    models: Path = typer.Option(None, "--models", help="Folder of toy models (default: the shipped ones)."),
    out: Path = typer.Option(None, "--out", help="Also write the measurements as JSON here."),
    unseen: bool = typer.Option(
        True,
        "--unseen/--no-unseen",
        help="Also report overlap with the training pools and the bars on the unseen part.",
    ),
    tier: str = typer.Option(
        "toy", "--tier", help=f"A toy tier: {TIER_NAMES} (toy-hard: on its compositional split)."
    ),
) -> None:
    """Measure the toy world's quality bars on fresh scenes (see data_cards/toy-world.md)."""
    from rewardkit.registry import TIERS
    from rewardkit.toy.quality import measure_all

    if n < 2:
        raise RewardkitError(f"--n must be at least 2 (retrieval needs several scenes), not {n}")
    spec = TIERS.get(tier)
    compositional = spec.world().COMPOSITIONAL
    unseen = unseen and not compositional  # a compositional split is unseen by construction
    BARS = spec.quality_bars()
    console = Console(stderr=True)
    res = measure_all(spec, n, seed, models, log=lambda s: console.print(f"[dim]{s}[/]"), unseen=unseen)
    what = "hard tier (compositional split)" if compositional else "world"
    table = Table(title=f"toy {what} quality on {n} scenes (seed {seed})")
    for col in ("measure", "value", "bar", "holds"):
        table.add_column(col)
    if unseen:
        table.add_column("unseen part")
        table.add_column("holds there")
    part = res.get("unseen", {})
    for key, value in res.items():
        if isinstance(value, float):
            op, bar = BARS.get(key, ("", None))
            holds = res["passed"].get(key)
            row = [
                key,
                f"{value:.3f}",
                f"{op} {bar}" if bar is not None else "",
                "" if holds is None else ("yes" if holds else "[red]no[/]"),
            ]
            if unseen:
                there = part.get("passed", {}).get(key)
                row += [
                    f"{part[key]:.3f}" if isinstance(part.get(key), float) else "",
                    "" if there is None else ("yes" if there else "[red]no[/]"),
                ]
            table.add_row(*row)
    Console().print(table)
    if "overlap" in res:
        ov = res["overlap"]
        Console().print(
            "full descriptions also in a training pool: "
            + ", ".join(f"{k} {v:.1%}" for k, v in ov.items() if k != "n_unseen")
            + f"; unseen part: {int(ov['n_unseen'])} scenes"
        )
    if out:
        out.write_text(json.dumps(res, indent=2) + "\n")

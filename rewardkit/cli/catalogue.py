"""``rewardkit list``: every registry as a table (or JSON), generated from :mod:`rewardkit.registry`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _doc(obj: Any) -> str:
    return ((getattr(obj, "__doc__", None) or "").strip().splitlines() or [""])[0]


def _components(p: Any) -> str:
    return ", ".join(
        f"{-1 if c.weight is None else c.weight:g}x{c.reward}" + (f"[{c.model}]" if c.model else "")
        for c in p.components
    )


def _fields(obj: Any, *names: str) -> dict[str, Any]:
    """A row's columns read off a spec: ``{name: getattr(obj, name)}`` for each of ``names``, in order."""
    return {n: getattr(obj, n) for n in names}


def _aliases_of(aliases: dict[str, str], name: str) -> list[str]:
    return [a for a, target in aliases.items() if target == name]


def _models() -> list[dict[str, Any]]:
    from rewardkit.registry import MODELS

    aliases = MODELS.aliases()
    return [
        {
            "name": n,
            "aliases": _aliases_of(aliases, n),
            **_fields(MODELS.get(n), "backend", "checkpoint", "pretrained", "computes", "size"),
        }
        for n in MODELS
    ]


def _family(preset: str) -> str | None:
    """The family of a preset's training defaults (``real size``, ``toy``, ``toy-hard``), or ``None``."""
    from rewardkit.registry import TRAINING
    from rewardkit.train.config import FAMILIES

    if preset not in TRAINING:
        return None
    return next(
        (name for name, cfg in FAMILIES.items() if cfg is TRAINING.get(preset)), TRAINING.target(preset)
    )


def _presets() -> list[dict[str, Any]]:
    from rewardkit.registry import PRESETS

    return [
        {
            "name": p.name,
            "components": _components(p),
            "evaluator": p.evaluator,
            "trains": _family(p.name),
            "description": p.description,
        }
        for p in (PRESETS.get(n) for n in PRESETS)
    ]


def _rewards() -> list[dict[str, Any]]:
    from rewardkit.registry import REWARDS, TEXT_ONLY_REWARDS

    return [
        {
            "name": n,
            "class": REWARDS.target(n) or "",
            "needs_model": n not in TEXT_ONLY_REWARDS,
            "computes": _doc(REWARDS.get(n)),
        }
        for n in REWARDS
    ]


def _backends() -> list[dict[str, Any]]:
    from rewardkit.registry import BACKENDS, CAPTIONER_BACKENDS, EVALUATOR_BACKENDS

    return [
        {
            "name": n,
            "class": BACKENDS.target(n) or "",
            "evaluator": n in EVALUATOR_BACKENDS,
            "captioner": n in CAPTIONER_BACKENDS,
        }
        for n in BACKENDS
    ]


def _benchmarks() -> list[dict[str, Any]]:
    from rewardkit.registry import BENCHMARKS

    rows = []
    for n in BENCHMARKS:
        b = BENCHMARKS.get(n)
        kind = getattr(b, "kind", "captioning")
        rows.append(
            {
                "name": n,
                "kind": kind,
                "for": "captioners (bench --model)"
                if kind == "captioning"
                else "reward models (bench --reward)",
                "measures": getattr(b, "headline", None) or f"CLIP Recall ({b.evaluator}), COCO metrics",
                "offline": bool(getattr(b, "offline", False)),
                "description": b.description,
            }
        )
    return rows


def _tiers() -> list[dict[str, Any]]:
    from rewardkit.registry import TIERS

    aliases = TIERS.aliases()
    return [
        {
            "name": n,
            "aliases": _aliases_of(aliases, n),
            **_fields(
                TIERS.get(n),
                "scenes",
                "models",
                "preset",
                "benchmark",
                "bars",
                "budgets",
                "seeds",
                "description",
            ),
        }
        for n in TIERS
    ]


def _training() -> list[dict[str, Any]]:
    from rewardkit.registry import TRAINING

    return [
        {
            "preset": n,
            "family": _family(n),
            **_fields(
                TRAINING.get(n), "policy", "data", "steps", "captions_per_step", "samples_per_image", "lr"
            ),
        }
        for n in TRAINING
    ]


def _value_heads() -> list[dict[str, Any]]:
    from rewardkit.registry import VALUE_HEADS

    return [
        {"name": n, "class": VALUE_HEADS.target(n) or "", "computes": _doc(VALUE_HEADS.get(n))}
        for n in VALUE_HEADS
    ]


LISTS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "models": _models,
    "presets": _presets,
    "rewards": _rewards,
    "backends": _backends,
    "benchmarks": _benchmarks,
    "tiers": _tiers,
    "training": _training,
    "value-heads": _value_heads,
}
"""What ``rewardkit list WHAT`` prints, one registry each."""


def _cell(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _model_cells(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": r["name"] + (f" (also: {', '.join(r['aliases'])})" if r["aliases"] else ""),
        "backend": r["backend"],
        "checkpoint": r["checkpoint"] + (f" / {r['pretrained']}" if r["pretrained"] else ""),
        "computes": r["computes"],
        "size": r["size"],
    }


_CELLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "models": _model_cells,
    "presets": lambda r: {
        "name": r["name"],
        "components (weight x reward[model])": r["components"],
        "evaluator": r["evaluator"],
        "training defaults": r["trains"],
        "description": r["description"],
    },
}


def render(what: list[str], console: Console) -> None:
    """Tables of the registries ``what``; every cell whole: a terminal's table wraps long names (never
    cuts them), a pipe gets one line per row."""
    wide = {} if console.is_terminal else {"no_wrap": True, "overflow": "ignore"}
    if not console.is_terminal:
        console = Console(width=100_000)
    for kind in what:
        rows = [_CELLS.get(kind, dict)(r) for r in LISTS[kind]()]
        table = Table(title=kind)
        columns = list(rows[0]) if rows else ["name"]
        for i, col in enumerate(columns):
            fit = {"overflow": "fold"}
            if i == 0 and rows:  # the name on one line wherever the terminal allows it
                fit["min_width"] = min(max(len(_cell(r[col])) for r in rows), max(8, console.width // 3))
            table.add_column(escape(col), **(wide or fit))
        for row in rows:
            table.add_row(*(escape(_cell(row[c])) for c in columns))
        console.print(table)

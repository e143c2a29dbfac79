"""Help texts generated from the registries: choice lists, and flags shown as flags (never ``<bool>``)."""

from __future__ import annotations

from typing import Any


def _flags_as_flags() -> None:
    """Show flags as flags in ``--help``: typer's rich help asks every option for a type label
    (``TyperOption.display_type_rich``), flags included, so ``--quiet`` read ``--quiet <bool>`` as if it
    took a value; its plain help skips flags (``if not self.is_flag``). Do the same in the rich one."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_rewardkit", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    display_type_rich._rewardkit = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _choices(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def _help_names() -> dict[str, str]:
    """Choice lists for help texts, generated from the registries (never typed in by hand)."""
    from rewardkit.registry import CAPTIONER_BACKENDS, MODELS, PRESETS, TRAINING, benchmarks_of

    captioners = sorted(
        [*MODELS.names(lambda m: m.backend in CAPTIONER_BACKENDS)]
        + [a for a, t in MODELS.aliases().items() if MODELS.get(t).backend in CAPTIONER_BACKENDS]
    )
    return {
        "presets": _choices(PRESETS.names()),
        "training": _choices(TRAINING.names()),
        "captioners": ", ".join(captioners),
        "captioning": _choices(benchmarks_of("captioning")),
        "reward_benchmarks": ", ".join(benchmarks_of("reward")),
    }


NAMES = _help_names()
"""The choice lists, computed once."""

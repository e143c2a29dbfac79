"""A registry: names to entries, lazy ``"module:attr"`` targets, aliases, and the one "did you mean".

The catalogue of what is registered (models, presets, rewards, backends, benchmarks, tiers, training
defaults, value heads) is :mod:`rewardkit.registry`; this module is the generic lookup it is built from.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from rewardkit.errors import UnknownNameError

T = TypeVar("T")


def resolve(target: str) -> Any:
    """Import a ``"package.module:attr"`` target; a dotted part after a mapping is a key of it.

    >>> resolve("rewardkit.registry:MODELS").kind
    'model'
    """
    from collections.abc import Mapping

    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = obj[part] if isinstance(obj, Mapping) else getattr(obj, part)
    return obj


def did_you_mean(name: str, known: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the closest known names, or an empty string: the one hint used everywhere.

    >>> did_you_mean("vlmr", ["vlrm", "toy"])
    " (did you mean 'vlrm'?)"
    """
    close = difflib.get_close_matches(str(name), list(known), n=n)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


class Registry(Generic[T]):
    """Names to entries; an entry may be a ``"module:attr"`` string, resolved on first use.

    >>> r = Registry("reward"); r.register("bad", "rewardkit.rewards:BadPhrasePenalty")
    >>> r.get("bad").__name__
    'BadPhrasePenalty'
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._targets: dict[str, str] = {}
        self._aliases: dict[str, str] = {}

    def register_alias(self, alias: str, target: str) -> None:
        """``alias`` names the same entry as ``target``."""
        if alias in self._entries or alias in self._aliases:
            raise ValueError(f"{self.kind} {alias!r} is already registered")
        self._aliases[alias] = target

    def canonical(self, name: str) -> str:
        """The registered name behind an alias (a name is its own)."""
        return self._aliases.get(name, name)

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def register(self, name: str, entry: T | str, *, overwrite: bool = False) -> None:
        if name in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        if isinstance(entry, str) and ":" in entry:
            self._targets[name] = entry

    def target(self, name: str) -> str | None:
        """The ``"module:attr"`` a lazy entry was registered with (``None`` for an object)."""
        return self._targets.get(self.canonical(name))

    def decorator(self, name: str) -> Callable[[T], T]:
        def wrap(entry: T) -> T:
            self.register(name, entry)
            return entry

        return wrap

    def get(self, name: str) -> T:
        name = self._aliases.get(name, name)
        if name not in self._entries:
            raise UnknownNameError(self.unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, str) and ":" in entry:
            entry = resolve(entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def unknown_message(self, name: str, known: Iterable[str] | None = None) -> str:
        """``unknown KIND 'x' (did you mean 'y'?); known: ...`` (``known``: the names to offer, default all)."""
        known = sorted([*self._entries, *self._aliases] if known is None else known)
        return f"unknown {self.kind} {name!r}{did_you_mean(name, known, 3)}; known: {', '.join(known)}"

    def names(self, where: Callable[[T], bool] | None = None) -> list[str]:
        """Registered names (without aliases), those whose entry satisfies ``where`` if given."""
        return sorted(n for n in self._entries if where is None or where(self.get(n)))

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def subset(self, kind: str, names: Iterable[str]) -> Registry[T]:
        """A registry of some of these entries under their names and targets (e.g. the text-only rewards).

        >>> r = Registry("reward"); r.register("bad", "rewardkit.rewards:BadPhrasePenalty")
        >>> "bad" in r.subset("text-only reward", ["bad"])
        True
        """
        sub: Registry[T] = Registry(kind)
        for name in names:
            sub.register(name, self._targets.get(name, self._entries[name]))
        return sub

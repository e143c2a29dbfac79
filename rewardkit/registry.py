"""One registry idea for models, presets, rewards and benchmarks: names to (lazy) objects."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from rewardkit.errors import UnknownNameError

T = TypeVar("T")


def resolve(target: str) -> Any:
    """Import a ``"package.module:attr"`` target."""
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names to entries; an entry may be a ``"module:attr"`` string, resolved on first use.

    >>> r = Registry("reward"); r.register("bad", "rewardkit.rewards:BadPhrasePenalty")
    >>> r.get("bad").__name__
    'BadPhrasePenalty'
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | str, *, overwrite: bool = False) -> None:
        if name in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def decorator(self, name: str) -> Callable[[T], T]:
        def wrap(entry: T) -> T:
            self.register(name, entry)
            return entry

        return wrap

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise UnknownNameError(self.unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, str) and ":" in entry:
            entry = resolve(entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        return f"unknown {self.kind} {name!r}: {hint}known: {', '.join(sorted(self._entries))}"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


REWARDS: Registry[Any] = Registry("reward")
"""Reward factories by component name: ``REWARDS.get(name)(**options)`` builds one."""

REWARDS.register("bad", "rewardkit.rewards.penalties:BadPhrasePenalty")
REWARDS.register("repeat", "rewardkit.rewards.penalties:RepeatPenalty")
REWARDS.register("noeos", "rewardkit.rewards.penalties:NoEOSPenalty")

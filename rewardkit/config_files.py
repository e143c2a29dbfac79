"""Config files (presets, training configs) read as plain data, safely, and values checked against declared types.

YAML is composed into its node graph first and only built into Python objects when the graph is
small and acyclic: an alias re-uses a node without copying it, so nested aliases (a "billion
laughs" document of a few hundred bytes) describe a tree of billions of nodes, and an alias inside
its own anchor describes an infinite one. Both are refused with one line before anything is built.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError

MAX_YAML_NODES = 10_000
"""The most nodes a config file may describe with its aliases expanded (presets have ~50)."""


class ConfigFileError(RewardkitError):
    """A config file that cannot be read as data, or a value of the wrong type."""


def _expanded_size_ok(root: Any, where: str) -> None:
    """Walk the node graph as the tree it describes; refuse cycles and trees over ``MAX_YAML_NODES``."""
    import yaml

    seen = 0
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            raise ConfigFileError(
                f"{where}:{node.start_mark.line + 1}: a recursive YAML alias (a value that contains itself)"
            )
        seen += 1
        if seen > MAX_YAML_NODES:
            raise ConfigFileError(
                f"{where}: YAML aliases expand to more than {MAX_YAML_NODES:,} values (counted with every alias "
                "expanded: nested anchors and aliases, a 'billion laughs'); write the values out instead"
            )
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        else:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children))


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` of one document, after refusing recursive aliases and alias bombs.

    >>> load_yaml("a: &x [1, 2]\\nb: *x\\n", "f.yaml")
    {'a': [1, 2], 'b': [1, 2]}
    """
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size_ok(node, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_mapping(path: str | Path) -> Mapping[str, Any]:
    """A YAML (``.yaml``/``.yml``) or JSON file that holds one mapping; every problem is one :class:`ConfigFileError`."""
    path = Path(path)
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read ({exc})") from None
    try:
        data = load_yaml(text, str(path)) if is_yaml else json.loads(text)
    except ConfigFileError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ConfigFileError(f"{path}: not valid JSON: {' '.join(str(exc).split())}") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses
        raise ConfigFileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, Mapping):
        raise ConfigFileError(f"{path}: the file must hold a mapping (key: value lines)")
    return data


# ---------------------------------------------------------------- declared types


def _args(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Union or isinstance(hint, types.UnionType)


def conforms(value: Any, hint: Any) -> bool:
    """Whether a config value (from YAML/JSON: str, int, float, bool, None, list, dict) fits a type hint.

    ``Path`` takes a string; ``float`` takes a finite int or float (never a bool); a sequence or
    iterable of X takes a list of X. Types a config file cannot spell (objects, callables) fit anything.

    >>> conforms(1000, float), conforms("1e3", float), conforms(["a"], Sequence[str] | None)
    (True, False, True)
    """
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    if _is_union(hint):
        return any(conforms(value, h) for h in _args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if hint is Path:
        return isinstance(value, str) and bool(value)
    origin = typing.get_origin(hint)
    if origin in (list, tuple, set, frozenset, Sequence, Iterable, Collection):
        if not isinstance(value, list):
            return False
        inner = _args(hint)[:1] or (Any,)
        return all(conforms(v, inner[0]) for v in value)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return isinstance(value, Mapping)
    return True


def describe(hint: Any) -> str:
    """A type hint in words: ``a number``, ``a list of strings or a path``."""
    if _is_union(hint):
        parts = [describe(h) for h in _args(hint) if h is not type(None)]
        text = " or ".join(dict.fromkeys(parts))
        return text + (" or null" if type(None) in _args(hint) else "")
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path"}
    if hint in names:
        return names[hint]
    origin = typing.get_origin(hint)
    if origin in (list, tuple, set, frozenset, Sequence, Iterable, Collection):
        inner = (_args(hint)[:1] or (Any,))[0]
        return "a list of " + {str: "strings", int: "integers", float: "numbers"}.get(inner, "values")
    if origin in (dict, Mapping):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def looks_like_a_number(value: Any) -> bool:
    """A string YAML 1.1 left unconverted though it reads as a number (``1e3``, ``1.0e3``, ``1_000.5e-3``)."""
    if not isinstance(value, str) or "e" not in value.lower():
        return False
    try:
        float(value.replace("_", ""))
    except ValueError:
        return False
    return True


YAML_NUMBER_HINT = (
    "YAML reads a number with an exponent but no dot or sign, like 1e3 or 1.0e3, as a string: "
    "write 1000, 1.0e+3 or 1.0e-5"
)


def type_error(where: str, value: Any, expected: str) -> ConfigFileError:
    """``WHERE must be EXPECTED, not VALUE`` (with YAML's exponent rule when a number was meant)."""
    hint = f" ({YAML_NUMBER_HINT})" if looks_like_a_number(value) and "number" in expected else ""
    return ConfigFileError(f"{where} must be {expected}, not {value!r}{hint}")


def declared_parameters(factory: Any, skip: Iterable[str] = ()) -> dict[str, Any] | None:
    """Keyword parameters of a callable and their type hints (``None`` when it takes ``**kwargs``)."""
    import inspect

    target = factory.__init__ if isinstance(factory, type) else factory
    params = list(inspect.signature(factory).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # an annotation that names a type only imported for type checkers
        hints = {}
    skip = set(skip) | {"self"}
    return {
        p.name: hints.get(p.name, Any)
        for p in params
        if p.name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }

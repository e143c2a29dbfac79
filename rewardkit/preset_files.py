"""Preset files: a YAML/JSON preset read and checked key by key into a :class:`PresetSpec`.

Every mistake is one :class:`PresetError` naming the file and the key; unknown names are answered with
the registry's "did you mean". Building what a preset names is :mod:`rewardkit.presets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.registry import (
    BACKENDS,
    EVALUATOR_BACKENDS,
    MODELS,
    REWARDS,
    TEXT_ONLY_REWARDS,
    ComponentSpec,
    ModelSpec,
    PresetSpec,
)


class PresetError(RewardkitError):
    """A preset file or name that cannot be used."""


def _read_mapping(path: Path) -> Mapping[str, Any]:
    """A preset or config file as a mapping (safe YAML: no alias bombs, no recursive aliases)."""
    from rewardkit.config_files import ConfigFileError, read_mapping

    try:
        return read_mapping(path)
    except ConfigFileError as exc:
        raise PresetError(str(exc)) from None


def _local(value: str, base: Path) -> str:
    """Resolve a relative local path (also behind ``local-dir:``) against the preset file's folder."""
    prefix = "local-dir:" if value.startswith("local-dir:") else ""
    raw = value[len(prefix) :]
    if raw.startswith((".", "/")) or (base / raw).exists():
        return prefix + str((base / raw).resolve())
    return value


def unknown_key_message(key: str, known: Any) -> str:
    """``unknown key 'x' (did you mean 'y'?); known: ...``."""
    from rewardkit.registry import did_you_mean

    known = sorted(known)
    return f"unknown key {key!r}{did_you_mean(str(key), known)}; known: {', '.join(known)}"


def _check_keys(path: Path, where: str, data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            raise PresetError(f"{path}: {where}{unknown_key_message(key, known)}")


def _text(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise PresetError(f"{path}: {where} must be a non-empty string, not {value!r}")
    return value


def _optional_text(path: Path, where: str, value: Any) -> str:
    """A string field that may be absent (``None``) or empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PresetError(f"{path}: {where} must be a string, not a {type(value).__name__} ({value!r:.60})")
    return value


def _weight(path: Path, where: str, value: Any) -> float | None:
    """A finite number (or absent): NaN and infinities are refused."""
    import math

    from rewardkit.config_files import type_error

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PresetError(f"{path}: {type_error(where, value, 'a number')}")
    if not math.isfinite(float(value)):
        raise PresetError(f"{path}: {where} must be finite, not {value!r}")
    return float(value)


def reward_options(reward: str) -> set[str] | None:
    """The option names a reward type accepts (``None``: any)."""
    declared = _declared(REWARDS.get(reward), {"backend", "tokenizer"})
    return None if declared is None else set(declared)


def _declared(factory: Any, skip: set[str]) -> dict[str, Any] | None:
    from rewardkit.config_files import declared_parameters

    return declared_parameters(factory, skip)


def _check_options(path: Path, where: str, options: Any, declared: dict[str, Any] | None) -> dict[str, Any]:
    """Options of a reward or a backend: known names (with "did you mean"), values of the declared types."""
    from rewardkit.config_files import conforms, describe, type_error

    if not isinstance(options, Mapping):
        raise PresetError(f"{path}: {where} must be a mapping, not {options!r:.60}")
    if declared is None:
        return dict(options)
    for key, value in options.items():
        if key not in declared:
            raise PresetError(f"{path}: {where}: {unknown_key_message(key, declared or {'(none)'})}")
        if not conforms(value, declared[key]):
            raise PresetError(f"{path}: {type_error(f'{where}.{key}', value, describe(declared[key]))}")
    return dict(options)


_TOP = {"name", "description", "components", "models", "evaluator"}
_MODEL = {"backend", "checkpoint", "pretrained", "computes", "size", "options"}
_COMPONENT = {"name", "reward", "model", "weight", "options"}


def evaluator_problem(spec: ModelSpec) -> str | None:
    """Why a model cannot be a preset's evaluator (CLIP Recall and CLIPScore need a CLIP-family model), or ``None``."""
    if spec.backend in EVALUATOR_BACKENDS:
        return None
    clips = [n for n in MODELS if MODELS.get(n).backend in EVALUATOR_BACKENDS]
    return (
        f"{spec.name!r} is a {spec.backend} model; an evaluator must be a CLIP-family model "
        f"(backend {' or '.join(sorted(EVALUATOR_BACKENDS))}), e.g. {', '.join(clips[:4])}"
    )


def preset_from_file(path: str | Path) -> PresetSpec:
    """Read a YAML/JSON preset: ``components`` (name, reward, model, weight, options), ``models``, ``evaluator``.

    Every mistake is one :class:`PresetError` naming the file and the key.
    """
    path = Path(path)
    data = _read_mapping(path)
    _check_keys(path, "", data, _TOP)
    base = path.parent
    models: dict[str, ModelSpec] = {}
    raw_models = data.get("models") or {}
    if not isinstance(raw_models, Mapping):
        raise PresetError(
            f"{path}: models must be a mapping of name -> {{backend, checkpoint}}, not a {type(raw_models).__name__}"
        )
    for name, m in raw_models.items():
        where = f"models.{name}"
        if not isinstance(m, Mapping) or "backend" not in m or "checkpoint" not in m:
            raise PresetError(f"{path}: {where} needs 'backend' and 'checkpoint'")
        _check_keys(path, f"{where}: ", m, _MODEL)
        backend = _text(path, f"{where}.backend", m["backend"])
        if backend not in BACKENDS:
            raise PresetError(f"{path}: {where}.backend: {BACKENDS.unknown_message(backend)}")
        checkpoint = _text(path, f"{where}.checkpoint", m["checkpoint"])
        pretrained = m.get("pretrained")
        if pretrained is not None:
            _text(path, f"{where}.pretrained", pretrained)
        options = _check_options(
            path,
            f"{where}.options",
            m.get("options") or {},
            _declared(
                BACKENDS.get(backend), {"name", "pretrained", "device", "dtype", "batch_size", "cache"}
            ),
        )
        models[str(name)] = ModelSpec(
            str(name),
            backend,
            _local(checkpoint, base),
            _local(str(pretrained), base) if pretrained else None,
            _optional_text(path, f"{where}.computes", m.get("computes")),
            _optional_text(path, f"{where}.size", m.get("size")),
            options,
        )
    raw_comps = data.get("components")
    if not isinstance(raw_comps, list) or not raw_comps:
        raise PresetError(f"{path}: components must be a non-empty list")
    comps = []
    for i, c in enumerate(raw_comps):
        where = f"components[{i}]"
        if not isinstance(c, Mapping) or "reward" not in c:
            raise PresetError(f"{path}: {where} needs at least 'reward'")
        _check_keys(path, f"{where}: ", c, _COMPONENT)
        reward = _text(path, f"{where}.reward", c["reward"])
        if reward not in REWARDS:
            raise PresetError(f"{path}: {where}.reward: {REWARDS.unknown_message(reward)}")
        name = _text(path, f"{where}.name", c.get("name", reward))
        if name == "total" or name in {x.name for x in comps}:
            raise PresetError(f"{path}: {where}.name {name!r} is reserved or used twice")
        model = c.get("model")
        if reward in TEXT_ONLY_REWARDS:
            if model is not None:
                raise PresetError(f"{path}: {where}.model: {reward!r} takes no model")
        else:
            model = _text(path, f"{where}.model", model)
            if model not in models and model not in MODELS:
                raise PresetError(
                    f"{path}: {where}.model: no model {model!r} in this file's models or the registry"
                )
        options = _check_options(
            path,
            f"{where}.options",
            c.get("options") or {},
            _declared(REWARDS.get(reward), {"backend", "tokenizer"}),
        )
        comps.append(
            ComponentSpec(
                name, reward, model, _weight(path, f"{where}.weight", c.get("weight")), dict(options)
            )
        )
    evaluator = data.get("evaluator")
    if evaluator is not None:
        evaluator = _text(path, "evaluator", evaluator)
        if evaluator not in models and evaluator not in MODELS:
            raise PresetError(
                f"{path}: evaluator: no model {evaluator!r} in this file's models or the registry"
            )
        problem = evaluator_problem(models[evaluator] if evaluator in models else MODELS.get(evaluator))
        if problem:
            raise PresetError(f"{path}: evaluator: {problem}")
    return PresetSpec(
        _text(path, "name", data.get("name", path.stem)),
        tuple(comps),
        evaluator,
        _optional_text(path, "description", data.get("description")),
        models,
        str(path),
    )


def model_spec(name: str, preset: PresetSpec | None = None) -> ModelSpec:
    """A model by name: the preset file's own ``models`` first, then the registry."""
    if preset is not None and name in preset.models:
        return preset.models[name]
    return MODELS.get(name)

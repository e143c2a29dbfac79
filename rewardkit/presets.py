"""Presets by name or file: build their backends (loaded once per process) and composed rewards."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.registry import (
    BACKENDS,
    MODELS,
    PRESETS,
    REWARDS,
    TEXT_ONLY_REWARDS,
    ComponentSpec,
    ModelSpec,
    PresetSpec,
)
from rewardkit.rewards.compose import Component, ComposedReward

_LOADED: dict[tuple[Any, ...], Any] = {}


class PresetError(RewardkitError):
    """A preset file or name that cannot be used."""


def _read_mapping(path: Path) -> Mapping[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml and json raise different types
        raise PresetError(
            f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: {exc}"
        ) from None
    if not isinstance(data, Mapping):
        raise PresetError(f"{path}: a preset file must hold a mapping")
    return data


def _local(value: str, base: Path) -> str:
    """Resolve a relative local path (also behind ``local-dir:``) against the preset file's folder."""
    prefix = "local-dir:" if value.startswith("local-dir:") else ""
    raw = value[len(prefix) :]
    if raw.startswith((".", "/")) or (base / raw).exists():
        return prefix + str((base / raw).resolve())
    return value


def preset_from_file(path: str | Path) -> PresetSpec:
    """Read a YAML/JSON preset: ``components`` (name, reward, model, weight, options), ``models``, ``evaluator``."""
    path = Path(path)
    data = _read_mapping(path)
    base = path.parent
    models: dict[str, ModelSpec] = {}
    for name, m in (data.get("models") or {}).items():
        if not isinstance(m, Mapping) or "backend" not in m or "checkpoint" not in m:
            raise PresetError(f"{path}: model {name!r} needs 'backend' and 'checkpoint'")
        BACKENDS.get(str(m["backend"]))  # unknown backends fail here, with suggestions
        pretrained = m.get("pretrained")
        models[name] = ModelSpec(
            name,
            str(m["backend"]),
            _local(str(m["checkpoint"]), base),
            _local(str(pretrained), base) if pretrained else None,
            str(m.get("computes", "")),
            str(m.get("size", "")),
            dict(m.get("options") or {}),
        )
    comps = []
    for i, c in enumerate(data.get("components") or []):
        if not isinstance(c, Mapping) or "reward" not in c:
            raise PresetError(f"{path}: component {i} needs at least 'reward'")
        REWARDS.get(str(c["reward"]))
        weight = c.get("weight")
        comps.append(
            ComponentSpec(
                str(c.get("name", c["reward"])),
                str(c["reward"]),
                c.get("model"),
                None if weight is None else float(weight),
                dict(c.get("options") or {}),
            )
        )
    if not comps:
        raise PresetError(f"{path}: a preset needs a non-empty 'components' list")
    return PresetSpec(
        str(data.get("name", path.stem)),
        tuple(comps),
        data.get("evaluator"),
        str(data.get("description", "")),
        models,
    )


def load_preset(name_or_path: str | Path | PresetSpec) -> PresetSpec:
    """A registered preset by name, or a preset file (``.yaml``/``.yml``/``.json``)."""
    if isinstance(name_or_path, PresetSpec):
        return name_or_path
    text = str(name_or_path)
    if text in PRESETS:
        return PRESETS.get(text)
    if Path(text).suffix in (".yaml", ".yml", ".json"):
        if not Path(text).is_file():
            raise PresetError(f"preset file {text!r} does not exist")
        return preset_from_file(text)
    return PRESETS.get(text)  # raises with "did you mean"


def model_spec(name: str, preset: PresetSpec | None = None) -> ModelSpec:
    if preset is not None and name in preset.models:
        return preset.models[name]
    return MODELS.get(name)


def build_backend(spec: ModelSpec, *, device: str = "auto", dtype: str = "fp32", batch_size: int = 32) -> Any:
    """The backend for ``spec``; the same (checkpoint, device, dtype) is loaded once per process."""
    key = (spec.backend, spec.checkpoint, spec.pretrained, device, dtype, tuple(sorted(spec.options.items())))
    backend = _LOADED.get(key)
    if backend is None:
        cls = BACKENDS.get(spec.backend)
        kwargs: dict[str, Any] = {"device": device, "dtype": dtype, "batch_size": batch_size, **spec.options}
        backend = (
            cls(spec.checkpoint, spec.pretrained, **kwargs)
            if spec.backend == "open_clip"
            else cls(spec.checkpoint, **kwargs)
        )
        _LOADED[key] = backend
    backend.batch_size = batch_size
    return backend


def build_reward(
    preset: str | Path | PresetSpec,
    *,
    only: list[str] | None = None,
    device: str = "auto",
    dtype: str = "fp32",
    batch_size: int = 32,
) -> ComposedReward:
    """The preset's composed reward (``only``: keep these component names)."""
    spec = load_preset(preset)
    comps = [c for c in spec.components if only is None or c.name in only]
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in spec.components})
        if unknown:
            raise PresetError(
                f"preset {spec.name!r} has no component {', '.join(unknown)}; it has {', '.join(c.name for c in spec.components)}"
            )
    built = []
    for c in comps:
        factory = REWARDS.get(c.reward)
        if c.reward in TEXT_ONLY_REWARDS:
            reward = factory(**c.options)
        else:
            if not c.model:
                raise PresetError(f"component {c.name!r} ({c.reward}) needs a model")
            backend = build_backend(
                model_spec(c.model, spec), device=device, dtype=dtype, batch_size=batch_size
            )
            reward = factory(backend, **c.options)
        built.append(Component(c.name, reward, reward.default_weight if c.weight is None else c.weight))
    return ComposedReward(built)


def build_evaluator(
    preset: str | Path | PresetSpec, *, device: str = "auto", dtype: str = "fp32", batch_size: int = 32
) -> Any:
    """The preset's CLIP evaluator backend (for CLIP Recall and CLIPScore), or ``None``."""
    spec = load_preset(preset)
    if not spec.evaluator:
        return None
    return build_backend(model_spec(spec.evaluator, spec), device=device, dtype=dtype, batch_size=batch_size)

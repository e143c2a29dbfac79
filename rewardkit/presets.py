"""Presets by name or file: build their backends (loaded once per process) and composed rewards.

Reading a preset file is :mod:`rewardkit.preset_files`; model identities for resume records are
:mod:`rewardkit.model_identity` (both re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.model_identity import (  # noqa: F401  (re-exported: resume records)
    FULL_HASH_LIMIT,
    model_identity,
    reward_setup,
    weights_digest,
)
from rewardkit.preset_files import (  # noqa: F401  (re-exported: preset files)
    PresetError,
    evaluator_problem,
    model_spec,
    preset_from_file,
    reward_options,
    unknown_key_message,
)
from rewardkit.registry import BACKENDS, PRESETS, REWARDS, TEXT_ONLY_REWARDS, ModelSpec, PresetSpec
from rewardkit.rewards.compose import Component, ComposedReward

_LOADED: dict[tuple[Any, ...], Any] = {}


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
    backends: Mapping[str, Any] | None = None,
) -> ComposedReward:
    """The preset's composed reward (``only``: keep these component names; ``backends``: built models by key)."""
    spec = load_preset(preset)
    comps = [c for c in spec.components if only is None or c.name in only]
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in spec.components})
        if unknown:
            raise PresetError(
                f"preset {spec.name!r} has no component {', '.join(unknown)}; it has {', '.join(c.name for c in spec.components)}"
            )
    built = []
    where = spec.source or f"preset {spec.name!r}"
    for c in comps:
        factory = REWARDS.get(c.reward)
        try:
            if c.reward in TEXT_ONLY_REWARDS:
                reward = factory(**c.options)
            else:
                if not c.model:
                    raise PresetError(f"{where}: component {c.name!r} ({c.reward}) needs a model")
                backend = (backends or {}).get(c.model) or _backend_for(
                    spec, c.model, device=device, dtype=dtype, batch_size=batch_size
                )
                reward = factory(backend, **c.options)
        except (TypeError, ValueError, OSError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise PresetError(f"{where}: component {c.name!r}: {reason}") from None
        model = model_spec(c.model, spec) if c.model else None
        weight = reward.default_weight if c.weight is None else c.weight
        built.append(Component(c.name, reward, weight, spec=c, model=model))  # built with its spec
    return ComposedReward(built)


def build_evaluator(
    preset: str | Path | PresetSpec, *, device: str = "auto", dtype: str = "fp32", batch_size: int = 32
) -> Any:
    """The preset's CLIP evaluator backend (for CLIP Recall and CLIPScore), or ``None``."""
    spec = load_preset(preset)
    if not spec.evaluator:
        return None
    return _backend_for(spec, spec.evaluator, device=device, dtype=dtype, batch_size=batch_size)


def _backend_for(spec: PresetSpec, model: str, **kwargs: Any) -> Any:
    """A preset's model, with load failures named by the preset and model key."""
    try:
        return build_backend(model_spec(model, spec), **kwargs)
    except PresetError:
        raise
    except RewardkitError as exc:
        if spec.source:
            raise PresetError(f"{spec.source}: models.{model}: {exc}") from None
        raise
    except (TypeError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise PresetError(f"{spec.source or f'preset {spec.name!r}'}: models.{model}: {reason}") from None

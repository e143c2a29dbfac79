"""Presets by name or file: build their backends (loaded once per process) and composed rewards."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rewardkit.errors import RewardkitError
from rewardkit.registry import (
    BACKENDS,
    EVALUATOR_BACKENDS,
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


# ---------------------------------------------------------------- identities for resume records

_HASHES: dict[tuple[str, int, int], str] = {}
FULL_HASH_LIMIT = 2 << 30
"""Local weights up to 2 GiB are hashed whole; a larger folder by each file's size and first and last MiB."""


def _local_path(value: str) -> Path | None:
    raw = value[len("local-dir:") :] if value.startswith("local-dir:") else value
    path = Path(raw).expanduser()
    return (
        path if (value.startswith("local-dir:") or raw.startswith((".", "/", "~"))) or path.exists() else None
    )


def _file_digest(path: Path, whole: bool) -> str:
    import hashlib

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns if whole else -st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            if whole:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            else:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, st.st_size - (1 << 20)))
                h.update(fh.read(1 << 20))
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def weights_digest(path: str | Path) -> str:
    """A content hash of a model file or folder (file names relative to it, sizes and bytes), not of where it lies.

    Hidden files and READMEs are left out; a folder over :data:`FULL_HASH_LIMIT` is fingerprinted
    (``fp:`` prefix) from each file's size and first and last MiB.
    """
    import hashlib

    path = Path(path)
    if path.is_file():
        return _file_digest(path, True)
    if not path.is_dir():
        return "missing"
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and not p.name.upper().startswith("README")
    )
    whole = sum(p.stat().st_size for p in files) <= FULL_HASH_LIMIT
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(path).as_posix()}\0{p.stat().st_size}\0{_file_digest(p, whole)}\n".encode())
    return ("" if whole else "fp:") + h.hexdigest()


def model_identity(spec: ModelSpec) -> dict[str, Any]:
    """What decides a model's outputs, for resume records: its backend, options and either its hub id
    (and pretrained tag) or a hash of its local weights — never the folder it is installed in, so a run
    resumes from another checkout or environment of the same models.

    >>> model_identity(MODELS.get("clip-vit-b-32"))
    {'backend': 'open_clip', 'checkpoint': 'ViT-B-32', 'pretrained': 'openai'}
    """
    out: dict[str, Any] = {"backend": spec.backend}
    for key, value in (("checkpoint", spec.checkpoint), ("pretrained", spec.pretrained)):
        if value is None:
            continue
        local = _local_path(value)
        if local is None:
            out[key] = value
        else:
            out[f"{key}_sha256"] = weights_digest(local)
    if spec.options:
        out["options"] = dict(spec.options)
    return out


def reward_setup(
    spec: PresetSpec, weights: Mapping[str, float], only: list[str] | None = None
) -> dict[str, Any]:
    """The resolved reward of a preset for resume records: per component its reward, weight, options and model identity."""
    comps: dict[str, Any] = {}
    for c in spec.components:
        if only is not None and c.name not in only:
            continue
        entry: dict[str, Any] = {
            "reward": c.reward,
            "weight": weights.get(c.name, c.weight),
            "options": dict(c.options),
        }
        if c.model:
            entry["model"] = model_identity(model_spec(c.model, spec))
        comps[c.name] = entry
    return comps

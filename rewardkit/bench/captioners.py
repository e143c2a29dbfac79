"""Captioners to benchmark, by name: a registered BLIP-2 model (with an optional delta), a local folder,
``hf:ID_OR_PATH`` or ``captions:PATH``; and loading one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardkit.bench.benchmarks import TOY_BENCHMARKS
from rewardkit.errors import RewardkitError


@dataclass(frozen=True)
class CaptionerSpec:
    """A captioner to benchmark: a registered BLIP-2 model (optionally with a delta state dict), a local
    folder, a Hugging Face image-to-text model (``kind="hf"``) or a ready captions file (``kind="captions"``)."""

    name: str
    checkpoint: str
    delta_repo: str | None = None
    delta_file: str | None = None
    default_benchmark: str = "coco-karpathy-test"
    description: str = ""
    kind: str = "blip2"


def _from_model(name: str) -> CaptionerSpec:
    from rewardkit.registry import MODELS

    m = MODELS.get(name)
    return CaptionerSpec(
        name,
        m.checkpoint,
        m.extra.get("delta_repo"),
        m.extra.get("delta_file"),
        m.extra.get("default_benchmark", "coco-karpathy-test"),
        m.computes,
    )


def _from_folder(name: str, folder: Path) -> CaptionerSpec:
    """A local captioner folder: a ``rewardkit train`` OUT (its ``policy``), a BLIP-2 folder, or any HF captioner."""
    if (folder / "policy" / "config.json").is_file():
        folder = folder / "policy"
    config = folder / "config.json"
    if not config.is_file():
        hint = (
            " (a rewardkit train OUT without policy/: did the run finish?)"
            if (folder / "metrics.jsonl").exists()
            else ""
        )
        raise RewardkitError(
            f"--model {name}: {folder} has no config.json, so it is not a saved captioner{hint}"
        )
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as exc:
        raise RewardkitError(f"--model {name}: {config} is unreadable ({exc})") from None
    kind = "blip2" if model_type == "blip-2" else "hf"
    return CaptionerSpec(
        name,
        str(folder),
        default_benchmark=_toy_benchmark(folder) or "coco-karpathy-test",
        description=f"local {model_type or 'model'} folder",
        kind=kind,
    )


def _toy_benchmark(folder: Path) -> str | None:
    """``toy`` or ``toy-hard`` for a captioner of a toy tier (shipped, or trained by ``rewardkit train`` on its scenes)."""
    from rewardkit.registry import TOY_HARD_WEIGHTS, TOY_WEIGHTS

    if folder.resolve().is_relative_to(TOY_WEIGHTS.resolve()):
        return "toy"
    if folder.resolve().is_relative_to(TOY_HARD_WEIGHTS.resolve()):
        return "toy-hard"
    try:
        meta = json.loads((folder / "rewardkit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    data = meta.get("config", {}).get("data") if isinstance(meta, dict) else None
    return data if data in TOY_BENCHMARKS else None


def captioner_spec(name: str) -> CaptionerSpec:
    """A captioner by name: a registered model, ``hf:ID_OR_PATH``, a local folder, or ``captions:PATH``."""
    from rewardkit.registry import CAPTIONER_BACKENDS, MODELS

    if name.startswith("captions:"):
        return CaptionerSpec(
            name,
            name[len("captions:") :],
            default_benchmark="toy",
            description="captions file",
            kind="captions",
        )
    if name.startswith("hf:"):
        target = name[len("hf:") :]
        if not target:
            raise RewardkitError(
                "--model hf: needs a Hugging Face id or a local folder, e.g. hf:Salesforce/blip-image-captioning-base"
            )
        return CaptionerSpec(name, target, description="Hugging Face image-to-text model", kind="hf")
    if name in MODELS and MODELS.get(name).backend in CAPTIONER_BACKENDS:
        return _from_model(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_folder(name, path)
    from rewardkit.registry import did_you_mean

    known = [n for n in [*MODELS.names(), *MODELS.aliases()] if MODELS.get(n).backend in CAPTIONER_BACKENDS]
    hint = did_you_mean(name, known)
    raise RewardkitError(
        f"unknown model {name!r}{hint}; known: {', '.join(sorted(known))}, a captioner folder, hf:ID_OR_PATH or captions:PATH"
    )


def apply_delta(model: Any, state: dict[str, Any]) -> dict[str, list[str]]:
    """Load a partial state dict with ``strict=False``; returns which tensors it replaced and which it did not match."""
    own = model.state_dict()
    replaced = sorted(k for k in state if k in own)
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise RewardkitError(
            f"the delta has {len(result.unexpected_keys)} tensors the model lacks, e.g. {result.unexpected_keys[0]}"
        )
    return {"replaced": replaced, "unexpected": list(result.unexpected_keys)}


def load_captioner(spec: CaptionerSpec, *, device: str, dtype: str, batch_size: int, prompt: str = "") -> Any:
    """The captioner of a spec (delta applied when the spec has one)."""
    from rewardkit.backends.blip2_captioner import Blip2Captioner

    if spec.kind == "hf":
        from rewardkit.backends.hf_captioner import HFCaptioner

        return HFCaptioner(spec.checkpoint, prompt=prompt, device=device, dtype=dtype, batch_size=batch_size)
    checkpoint = spec.checkpoint
    from rewardkit.registry import TOY_WEIGHTS

    if checkpoint.startswith(str(TOY_WEIGHTS)) and not Path(checkpoint).is_dir():
        raise RewardkitError(f"{spec.name}: {checkpoint} is not shipped in this installation")
    cap = Blip2Captioner(checkpoint, device=device, dtype=dtype, batch_size=batch_size)
    if spec.delta_repo:
        import torch

        from rewardkit.backends.base import hub_reachable, missing_checkpoint

        try:
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(spec.delta_repo, spec.delta_file, local_files_only=not hub_reachable())
        except Exception:
            raise missing_checkpoint(f"{spec.delta_repo}/{spec.delta_file}") from None
        state = torch.load(path, map_location="cpu", weights_only=True)
        cap.delta = apply_delta(cap.model, state)
    return cap

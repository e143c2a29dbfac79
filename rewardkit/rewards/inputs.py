"""Reward inputs as RL libraries send them: TRL's completions, ``completion_ids`` and image columns.

TRL (1.x) calls a reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns,
trainer_state=..., log_metric=..., log_extra=...)``, where ``columns`` are every dataset column
repeated per completion. This module turns that into rewardkit's inputs: caption strings,
``ended_with_eos`` and one image per caption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import ArgumentError
from rewardkit.functional.arguments import column_list

TRAINER_ONLY = frozenset({"trainer_state", "log_metric", "log_extra", "environments", "prompts"})
"""Keyword arguments that TRL adds for its own purposes; never reward inputs."""


def completions_list(completions: Any, name: str) -> list[Any]:
    """TRL's ``completions`` as a list, read once; a lone string (or message) is refused in one line."""
    if completions is None:
        raise ArgumentError(f"{name}: completions is required")
    if isinstance(completions, (str, bytes, Mapping)):
        kind = "message" if isinstance(completions, Mapping) else type(completions).__name__
        raise ArgumentError(
            f"{name}: completions must be a list (one completion per row), got a single {kind}; "
            "wrap it in a list: completions=[...]"
        )
    if not isinstance(completions, Iterable):
        raise ArgumentError(f"{name}: completions must be a list, got {type(completions).__name__}")
    return completions if type(completions) is list else list(completions)


def completion_text(completion: Any) -> str:
    """Text of a completion: a string, a message list (the last message's content), or content given as a list of parts.

    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a red"}, {"type": "text", "text": " car"}]}])
    'a red car'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content", ""))
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        return _content_text(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                texts.append(str(part.get("text", "")))
        return "".join(texts)
    if content is None:
        return ""
    raise TypeError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def eos_ids(eos_token_id: int | Sequence[int] | None = None, tokenizer: Any = None) -> frozenset[int] | None:
    """The EOS id(s) given, or the tokenizer's; ``None`` when neither is known."""
    if eos_token_id is None and tokenizer is not None:
        eos_token_id = getattr(tokenizer, "eos_token_id", None)
    if eos_token_id is None:
        return None
    return frozenset([int(eos_token_id)] if isinstance(eos_token_id, int) else map(int, eos_token_id))


def ended_from_ids(completion_ids: Sequence[Sequence[int]], eos: frozenset[int]) -> list[bool]:
    """Whether each completion stopped at EOS: TRL cuts ``completion_ids`` after the first EOS, so it is the last id."""
    out = []
    for ids in completion_ids:
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        out.append(bool(ids) and int(ids[-1]) in eos)
    return out


def one_image_per_row(column: Sequence[Any], name: str) -> list[Any]:
    """A column of images, one per caption. A row holding a list (TRL's ``images``) must hold exactly one image: the one captioned."""
    if isinstance(column, (str, Path)):
        raise ArgumentError(
            f"{name} must hold one image per caption, got a single path; wrap it in a list: {name}=[...]"
        )
    out = []
    for i, value in enumerate(column):
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise ValueError(
                    f"{name}[{i}] holds {len(value)} images; a caption is scored against one image, "
                    "so give each row a list of exactly one (or a single image)"
                )
            value = value[0]
        if value is None:
            raise ValueError(f"{name}[{i}] has no image")
        if isinstance(value, Mapping) and (
            "path" in value or "bytes" in value
        ):  # an undecoded datasets Image
            value = _from_datasets(value)
        if not _image_like(value):
            raise TypeError(
                f"{name}[{i}] must be a path, bytes, a PIL image, a numpy array (HxWxC) or a torch tensor "
                f"(CxHxW), not {type(value).__name__}"
            )
        out.append(value)
    return out


def _image_like(value: Any) -> bool:
    """Whether the one image loader (:func:`rewardkit.io.images.load_image`) takes this kind of value."""
    kind = type(value).__module__.split(".")[0]
    return (
        isinstance(value, (str, Path, bytes, bytearray))
        or hasattr(value, "convert")
        or kind in ("numpy", "torch")
    )


def _from_datasets(value: Mapping[str, Any]) -> Any:
    """An undecoded ``datasets.Image`` (``{"bytes", "path"}``): its bytes, read by the one loader later, else its path."""
    return bytes(value["bytes"]) if value.get("bytes") else value["path"]


def reward_inputs(
    kwargs: Mapping[str, Any], n: int, *, eos: frozenset[int] | None = None, image_column: str | None = None
) -> dict[str, Any]:
    """rewardkit's per-caption inputs from a TRL-style call's keyword arguments.

    Images come from ``image_column`` when given (for a text policy, whose dataset must not
    have TRL's multimodal ``image``/``images`` columns), else from ``images`` or ``image``.
    """
    inputs = {k: column_list(v, k, column=k) for k, v in kwargs.items() if k not in TRAINER_ONLY}
    if image_column is not None and image_column not in ("image", "images"):
        if inputs.get(image_column) is None:
            raise ValueError(f"no {image_column!r} column in the reward function's inputs")
        inputs["images"] = inputs.pop(image_column)
    ids = inputs.get("completion_ids")
    if inputs.get("ended_with_eos") is None and ids is not None and eos is not None:
        inputs["ended_with_eos"] = ended_from_ids(ids, eos)
    if inputs.get("images") is not None:
        inputs["images"] = one_image_per_row(inputs["images"], "images")
    elif inputs.get("image") is not None:
        inputs["images"] = one_image_per_row(inputs.pop("image"), "image")
    for key in ("images", "ended_with_eos", "references"):
        if inputs.get(key) is not None and len(inputs[key]) != n:
            raise ValueError(f"{key} has {len(inputs[key])} entries for {n} completions")
    return inputs

"""How much of each caption a reward's text encoder never sees: windows, counts and the one-line note (issue 29, item 4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextWindow:
    """A component's text encoder: its window in tokens, how it counts tokens, what text it is shown."""

    window: int
    lengths: Callable[[list[str]], list[int]]
    prompted: Callable[[list[str]], list[str]]
    uses_references: bool


def _token_lengths(tokenizer: Any) -> Callable[[list[str]], list[int]] | None:
    """Token counts as the model's own tokenizer gives them, special tokens included."""
    if hasattr(tokenizer, "model_max_length"):  # a transformers tokenizer (HF CLIP, BLIP-2's BERT)
        return lambda texts: [len(ids) for ids in tokenizer(texts)["input_ids"]]
    if hasattr(tokenizer, "encode"):  # open_clip's SimpleTokenizer: start + BPE tokens + end
        return lambda texts: [len(tokenizer.encode(t)) + 2 for t in texts]
    inner = getattr(tokenizer, "tokenizer", None)  # open_clip's wrapper of a transformers tokenizer
    if inner is not None:
        return lambda texts: [len(ids) for ids in inner(texts)["input_ids"]]
    return None


def text_windows(reward: Any) -> dict[str, TextWindow]:
    """The components of a composed reward whose image-text model cuts captions at a fixed window."""
    out: dict[str, TextWindow] = {}
    for c in getattr(reward, "components", ()):
        backend = getattr(c.reward, "backend", None)
        window = getattr(backend, "context_length", None)
        if window is None and hasattr(backend, "itm_logits"):  # BLIP-2 ITM: the Q-Former's max_length
            window = getattr(backend, "max_length", None)
        lengths = _token_lengths(getattr(backend, "tokenizer", None)) if window else None
        if not isinstance(window, int) or lengths is None:
            continue
        prompted = getattr(c.reward, "prompted", None) or (lambda texts: list(texts))
        uses_refs = type(c.reward).__name__.startswith("RefCLIP")
        out[c.name] = TextWindow(window, lengths, prompted, uses_refs)
    return out


def count_truncation(
    counts: dict[str, dict[str, int]],
    windows: dict[str, TextWindow],
    captions: list[str],
    references: Sequence[list[str]] | None,
) -> None:
    """Add one batch to ``counts``: texts, truncated texts, tokens and dropped tokens per component."""
    for name, w in windows.items():
        c = counts.setdefault(
            name, dict.fromkeys(("n", "cut", "tok", "drop", "rn", "rcut", "rtok", "rdrop"), 0)
        )
        for n in w.lengths(w.prompted(captions)):
            c["n"] += 1
            c["cut"] += n > w.window
            c["tok"] += n
            c["drop"] += max(0, n - w.window)
        if w.uses_references and references is not None:
            flat = [r for refs in references for r in refs]
            for n in w.lengths(w.prompted(flat)) if flat else []:
                c["rn"] += 1
                c["rcut"] += n > w.window
                c["rtok"] += n
                c["rdrop"] += max(0, n - w.window)


def truncation_summary(
    counts: dict[str, dict[str, int]], windows: dict[str, TextWindow]
) -> dict[str, dict[str, Any]]:
    """Readable truncation counts per component (shares of tokens dropped, 0-1)."""
    out: dict[str, dict[str, Any]] = {}
    for name, w in windows.items():
        c = counts.get(name)
        if not c:
            continue
        row: dict[str, Any] = {
            "window_tokens": w.window,
            "candidates": c["n"],
            "candidates_truncated": c["cut"],
            "candidate_tokens_dropped": c["drop"] / c["tok"] if c["tok"] else 0.0,
        }
        if w.uses_references:
            row.update(
                references=c["rn"],
                references_truncated=c["rcut"],
                reference_tokens_dropped=c["rdrop"] / c["rtok"] if c["rtok"] else 0.0,
            )
        out[name] = row
    return out


def truncation_line(truncation: dict[str, dict[str, Any]]) -> str:
    """One line: ``clipscore (77 tokens): 3/40 candidates truncated, 1.2% of tokens dropped; ...``."""
    parts = []
    for name, t in truncation.items():
        part = (
            f"{name} ({t['window_tokens']} tokens): {t['candidates_truncated']}/{t['candidates']} candidates "
            f"truncated, {100 * t['candidate_tokens_dropped']:.1f}% of candidate tokens dropped"
        )
        if "references" in t:
            part += (
                f", {t['references_truncated']}/{t['references']} references truncated, "
                f"{100 * t['reference_tokens_dropped']:.1f}% of reference tokens dropped"
            )
        parts.append(part)
    return "; ".join(parts) if parts else "no component with a fixed text window"

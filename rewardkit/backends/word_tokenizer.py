"""Word-level tokenizers built in memory with ``tokenizers`` (tiny test models and the toy world)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "bos": "<s>", "eos": "</s>"}


def build_word_tokenizer(
    words: Iterable[str], *, style: str = "bert", extra_specials: Iterable[str] = ()
) -> Any:
    """A ``PreTrainedTokenizerFast`` over ``words`` (lower-cased, punctuation split).

    ``style="bert"`` adds ``[CLS] … [SEP]`` (Q-Former text); ``style="causal"`` adds nothing and
    has ``<s>``/``</s>`` as BOS/EOS (reference LM, captioner). ``extra_specials`` (e.g. BLIP-2's
    ``<image>``) are appended after the words.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIALS.values())
    vocab = {tok: i for i, tok in enumerate(specials)}
    for w in sorted({w.lower() for w in words}):
        vocab.setdefault(w, len(vocab))
    extra = list(extra_specials)
    for w in extra:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIALS["unk"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    kwargs: dict[str, Any] = {"pad_token": SPECIALS["pad"], "unk_token": SPECIALS["unk"]}
    if style == "bert":
        cls_id, sep_id = vocab[SPECIALS["cls"]], vocab[SPECIALS["sep"]]
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
        )
        kwargs.update(cls_token=SPECIALS["cls"], sep_token=SPECIALS["sep"])
    elif style == "causal":
        kwargs.update(bos_token=SPECIALS["bos"], eos_token=SPECIALS["eos"])
    else:
        raise ValueError(f"unknown tokenizer style {style!r}")
    from tokenizers import decoders

    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    if extra:
        tok.add_special_tokens(extra)
        kwargs["additional_special_tokens"] = extra
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)

"""Pure functions of rewardkit: every formula of VLRM and ESPER, on strings and tensors.

Importing this module does not import torch (CIDEr-D needs numpy); tensor functions import it when called.
"""

from rewardkit.functional.a2c import (
    advantage_moments,
    mean_token_entropy,
    normalize_with_moments,
    normalized_advantages,
)
from rewardkit.functional.assembly import token_weights, weighted_total
from rewardkit.functional.cider import cider_d
from rewardkit.functional.clip import (
    clip_score,
    distinct_image_groups,
    pair_cosine,
    ref_clip_score,
    retrieval_softmax_phi,
)
from rewardkit.functional.correlation import kendall_tau, kendall_tau_b, kendall_tau_c, pairwise_accuracy
from rewardkit.functional.finite import require_finite
from rewardkit.functional.penalties import (
    bad_phrase_flags,
    bad_phrase_spans,
    default_bad_phrases,
    default_repeat_exempt,
    no_eos,
    repeat_flags,
    repeated_word_spans,
    word_pieces,
)
from rewardkit.functional.ptb import is_empty_caption, ptb_tokenize
from rewardkit.functional.retrieval import clip_recall, retrieval_ranks, tied_rankings
from rewardkit.functional.returns import (
    batch_token_returns,
    batch_token_returns_from_ids,
    completion_spans,
    discount,
    discounted_returns,
    pieces_from_offsets,
    token_pieces,
    token_returns,
    token_rewards,
)
from rewardkit.functional.stats import hackability, nan_mean, nan_mean_std

__all__ = [
    "hackability",
    "mean_token_entropy",
    "nan_mean",
    "nan_mean_std",
    "kendall_tau",
    "kendall_tau_b",
    "kendall_tau_c",
    "pairwise_accuracy",
    "advantage_moments",
    "batch_token_returns_from_ids",
    "completion_spans",
    "normalize_with_moments",
    "normalized_advantages",
    "token_weights",
    "weighted_total",
    "cider_d",
    "ptb_tokenize",
    "is_empty_caption",
    "clip_recall",
    "clip_score",
    "pair_cosine",
    "ref_clip_score",
    "retrieval_softmax_phi",
    "distinct_image_groups",
    "bad_phrase_flags",
    "bad_phrase_spans",
    "batch_token_returns",
    "default_bad_phrases",
    "default_repeat_exempt",
    "discount",
    "discounted_returns",
    "no_eos",
    "pieces_from_offsets",
    "repeat_flags",
    "repeated_word_spans",
    "retrieval_ranks",
    "tied_rankings",
    "require_finite",
    "token_pieces",
    "token_returns",
    "token_rewards",
    "word_pieces",
]

"""Truncation counts of a reward's text encoders, per tokenizer."""

import io
import json
import random

import numpy as np
import pytest
from PIL import Image

from rewardkit.bench.reward_run import RewardScorer

WORDS = "a dog runs on the grass man rides red bike two cats sit near window".split()


def _png(seed, size=(20, 16)):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _sentence(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(3, 9)))


@pytest.fixture
def clipscore_preset(tmp_path, open_clip_dir, blip2_itm_dir):
    """The clipscore preset's two components on the tiny open_clip (16-token window), plus a tiny BLIP-2 ITM."""
    path = tmp_path / "clipscore.json"
    path.write_text(
        json.dumps(
            {
                "name": "clipscore",
                "models": {
                    "clip": {"backend": "open_clip", "checkpoint": f"local-dir:{open_clip_dir}"},
                    "itm": {"backend": "blip2_itm", "checkpoint": str(blip2_itm_dir)},
                },
                "components": [
                    {"name": "clipscore", "reward": "clipscore", "model": "clip", "weight": 1.0},
                    {"name": "refclipscore", "reward": "refclipscore", "model": "clip", "weight": 0.0},
                    {"name": "itm", "reward": "itm", "model": "itm", "weight": 0.0},
                ],
            }
        )
    )
    return path


def test_truncation_counts_follow_each_tokenizer(tmp_path, clipscore_preset, open_clip_dir):
    import open_clip
    from transformers import AutoTokenizer

    scorer = RewardScorer(str(clipscore_preset), device="cpu", batch_size=3)
    rng = random.Random(9)
    caps = [_sentence(rng, n) for n in (2, 5, 12, 25, 40)]
    refs = [[_sentence(rng, n)] for n in (3, 14, 30, 2, 8)]
    images = [_png(k) for k in range(5)]
    scorer(caps, images, refs)
    t = scorer.truncation
    clip_tok = open_clip.get_tokenizer(f"local-dir:{open_clip_dir}")
    clip_len = [len(clip_tok.encode(f"A photo depicts {c}")) + 2 for c in caps]  # CLIP-S's prompt, start/end
    ref_len = [len(clip_tok.encode(f"A photo depicts {r[0]}")) + 2 for r in refs]
    assert t["clipscore"]["window_tokens"] == 16 and t["clipscore"]["candidates"] == 5
    assert t["clipscore"]["candidates_truncated"] == sum(n > 16 for n in clip_len) > 0
    assert t["clipscore"]["candidate_tokens_dropped"] == pytest.approx(
        sum(max(0, n - 16) for n in clip_len) / sum(clip_len)
    )
    assert "references" not in t["clipscore"]
    assert t["refclipscore"]["references_truncated"] == sum(n > 16 for n in ref_len)
    assert t["refclipscore"]["reference_tokens_dropped"] == pytest.approx(
        sum(max(0, n - 16) for n in ref_len) / sum(ref_len)
    )
    itm_tok = scorer.reward.components[2].reward.backend.tokenizer
    itm_len = [len(AutoTokenizer.from_pretrained(itm_tok.name_or_path)(c)["input_ids"]) for c in caps]
    assert t["itm"]["window_tokens"] == 32
    assert t["itm"]["candidates_truncated"] == sum(n > 32 for n in itm_len)
    assert t["itm"]["candidate_tokens_dropped"] == pytest.approx(
        sum(max(0, n - 32) for n in itm_len) / sum(itm_len)
    )

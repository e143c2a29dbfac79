"""ESP-style scores: the protocol pieces, the loader on the real annotation file, and the per-style report."""

import json
from pathlib import Path

import pytest

from rewardkit.metrics.captioning import java_available
from rewardkit.metrics.esp import (
    ESP_STYLES,
    cut_hypotheses,
    distinct_n,
    esp_reference,
    esp_scores,
    load_esp,
    self_bleu,
)

ESP = Path(__file__).resolve().parents[3] / "shared" / "data" / "esp" / "dataset_v_0_2.json"


def test_reference_cut_and_hypothesis_cut_follow_esper():
    # split on "." only: "!" and "?" do not end a sentence, decimals and URLs do; the final period goes
    assert esp_reference("He ran! Fast? Yes. Then left. More.") == "He ran! Fast? Yes. Then left"
    assert esp_reference("It cost 2.50 dollars. Cheap.") == "It cost 2.50 dollars"
    assert esp_reference("see www.example.com now. ok") == "see www.example"
    assert esp_reference("no end mark") == "no end mark"
    refs = ["a b c d", "a b c d e"]  # mean PTB length 4.5: int() gives 4, round() would give 4 or 5
    assert cut_hypotheses(["One, two three four five six."], refs) == ["one two three four"]
    refs = ["a b c d", "a b c d e f g h"]  # mean 6.0 exactly
    assert cut_hypotheses(["one two three four five six seven"], refs) == ["one two three four five six"]


def test_diversity_scores():
    assert distinct_n(["a dog runs", "a dog runs"], 2) == 0.5
    assert distinct_n([], 1) == 0.0
    same = self_bleu(["a dog runs in the park", "a dog runs in the park"])
    different = self_bleu(["a dog runs in the park", "stocks fell sharply on monday morning"])
    assert same == pytest.approx(1.0) and different < 0.1


@pytest.mark.skipif(not ESP.exists(), reason="the ESP annotation file is not at ../shared/data/esp")
def test_loader_reads_the_real_annotation_file():
    rows = load_esp(str(ESP))
    assert len(rows) == 4373
    assert {r["style"] for r in rows} == set(ESP_STYLES)
    assert all(r["image"].startswith("COCO_val2014_") for r in rows)
    data = json.loads(ESP.read_text())
    assert len({r["image"] for r in rows}) == len(data["images"]) == 996


class _EsperEval:
    """A transcription of ESPER's ``metric/lang_metrics.py`` ``Eval.run(res, gts, cut=True)`` (repository
    JiwanChung/esper), run on pycocoevalcap as ESPER runs it: Java PTB tokenizer, Bleu(4), Meteor, Rouge, Cider."""

    def __call__(self, res, gts, use_meteor):
        import numpy as np
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.rouge.rouge import Rouge
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        tokenizer = PTBTokenizer()
        gts = tokenizer.tokenize({i: [{"caption": v}] for i, v in enumerate(gts)})
        res = tokenizer.tokenize({i: [{"caption": v}] for i, v in enumerate(res)})
        stats = {"gts_len": np.array([len(v[0].split()) for v in gts.values()]).mean()}
        length = int(stats["gts_len"])
        res = {k: [" ".join(v[0].split()[:length])] for k, v in res.items()}
        scorers = [
            (Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]),
            (Rouge(), "ROUGE_L"),
            (Cider(), "CIDEr"),
        ]
        if use_meteor:
            scorers.append((Meteor(), "METEOR"))
        for scorer, method in scorers:
            score, _ = scorer.compute_score(gts, res)
            if isinstance(method, list):
                stats.update(zip(method, score))
            else:
                stats[method] = score
        return stats


def _esper_eval_py(rows, use_meteor):
    """ESPER's ``scripts/eval.py`` loop: per style, references cut with ``'.'.join(cap.split('.')[:2]).strip()``."""
    from collections import defaultdict

    res = defaultdict(list)
    for r in rows:
        cap = ".".join(r["references"][0].split(".")[:2]).strip()
        res[r["style"]].append([r["caption"], cap])
    out = {}
    for style, pairs in res.items():
        hyps, gts = zip(*pairs)
        out[style] = _EsperEval()(list(hyps), list(gts), use_meteor)
    return out


QUIRKY = [
    (
        "news",
        "Prices rose 2.5% today! Markets? Calm.",
        "Prices rose 2.5 percent today. Analysts were calm! Really? Yes.",
    ),
    ("news", "A man at www.example.com said hi.", "Visit www.example.com for more. A man waves."),
    ("news", "Two dogs play in the park near a lake", "Two dogs. Play!"),
    ("sns", "omg so cute!!! #dogs", "OMG look at this pup!!! #dogs #cute. Love it. Follow."),
    ("sns", "Sunset vibes... 🌅 can't stop", "Sunset vibes. Can't stop staring... at it"),
    ("sns", 'He said "wow." then left', '"Wow." He left.'),
    (
        "story",
        "Once upon a time, a cat sat on a mat and it was happy",
        "Once, a cat sat. It was happy and it purred loudly all day long.",
    ),
]


@pytest.mark.parametrize("meteor", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_esp_equals_esper_eval_py_with_the_java_tokenizer(meteor):
    if not java_available():
        pytest.skip("the Java PTB tokenizer needs Java")
    rows = [
        {"style": s, "caption": h, "references": [r], "image": f"{i}.jpg"}
        for i, (s, h, r) in enumerate(QUIRKY)
    ]
    ours = esp_scores(rows, meteor=meteor, java_tokenizer=True)
    theirs = _esper_eval_py(rows, meteor)
    names = {
        "Bleu_1": "BLEU-1",
        "Bleu_2": "BLEU-2",
        "Bleu_3": "BLEU-3",
        "Bleu_4": "BLEU-4",
        "ROUGE_L": "ROUGE-L",
        "CIDEr": "CIDEr-D",
        "METEOR": "METEOR",
        "gts_len": "ref_len",
    }
    for style, stats in theirs.items():
        for theirs_name, ours_name in names.items():
            if theirs_name in stats:
                assert ours["styles"][style][ours_name] == pytest.approx(
                    float(stats[theirs_name]), abs=1e-6
                ), (style, theirs_name)
    assert ours["tokenizer"] == "java" and ours["protocol"] == "eval.py"


@pytest.mark.slow
@pytest.mark.skipif(not ESP.exists() or not java_available(), reason="needs the ESP annotations and Java")
def test_esp_equals_esper_on_the_real_annotations():
    rows = load_esp(str(ESP))
    by_image = {}
    for r in rows:
        by_image.setdefault(r["image"], []).append(r)
    for group in by_image.values():  # hypothesis: the same image's caption in the next style
        for k, r in enumerate(group):
            r["caption"] = group[(k + 1) % len(group)]["references"][0]
    ours = esp_scores(rows, meteor=False, java_tokenizer=True)
    theirs = _esper_eval_py(rows, False)
    for style, stats in theirs.items():
        for a, b in (("Bleu_4", "BLEU-4"), ("CIDEr", "CIDEr-D"), ("ROUGE_L", "ROUGE-L")):
            assert ours["styles"][style][b] == pytest.approx(float(stats[a]), abs=1e-6), (style, a)


def test_per_style_report_and_per_caption_means():
    rows = [
        {
            "image": "1.jpg",
            "style": "news",
            "caption": "A dog runs in a park today. It is sunny.",
            "references": ["A dog runs in the park. It is sunny. Extra."],
        },
        {
            "image": "2.jpg",
            "style": "news",
            "caption": "Cats sleep.",
            "references": ["Two cats sleep on a sofa. They are tired."],
        },
        {
            "image": "1.jpg",
            "style": "story",
            "caption": "Once upon a time a dog ran.",
            "references": ["Once a dog ran far away."],
        },
    ]
    out = esp_scores(rows, per_caption={"itm": [1.0, 3.0, float("nan")]}, meteor=False)
    assert out["styles"]["news"]["itm"] == 2.0 and "itm" not in out["styles"]["story"]
    assert out["mean"]["CIDEr-D"] == pytest.approx(
        (out["styles"]["news"]["CIDEr-D"] + out["styles"]["story"]["CIDEr-D"]) / 2
    )
    # "a dog runs in the park . it is sunny" minus the dot: 9 tokens; "two cats sleep on a sofa they are tired": 9
    assert out["styles"]["news"]["ref_len"] == 9.0 and out["styles"]["news"]["hyp_len"] == (9 + 2) / 2
    assert set(out["diversity"]) == {"distinct-1", "distinct-2", "self-BLEU-4"}

"""The CaptionEvalKit bridge both ways, without CaptionEvalKit: its CaptionSample fields and its metric-output,
score-key and Kendall code are transcribed in tests/reference.py."""

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from rewardkit.adapters import capevalkit as C
from rewardkit.bench.reward_run import run_reward_bench
from rewardkit.errors import RewardkitError
from rewardkit.rewards import BadPhrasePenalty
from rewardkit.rewards.compose import ComposedReward
from tests import reference


@dataclass(frozen=True)
class CaptionSample:
    """capevalkit/interfaces/python_api.py CaptionSample, field for field."""

    id: str
    image: str
    references: list[str]
    prediction: str | None = None
    human_score: float | None = None


def _images(tmp_path, n):
    paths = []
    for k in range(n):
        p = tmp_path / f"{k}.png"
        Image.fromarray(np.random.default_rng(k).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def test_the_metric_callable_takes_caption_samples_and_gives_what_evaluate_metric_reads(tmp_path):
    assert tuple(f.name for f in dataclasses.fields(CaptionSample)) == C.CAPTION_SAMPLE_FIELDS
    paths = _images(tmp_path, 4)
    caps = ["an image of a dog", "a dog", "an image of an image of a cat", "a picture of two cats"]
    samples = [CaptionSample(f"s{k}", paths[k], ["a ref"], caps[k], float(k)) for k in range(4)]
    reward = ComposedReward({"bad": (BadPhrasePenalty(["an image of", "a picture of"]), -1.0)})
    out = C.metric(reward)(samples)
    assert out == {"s0": -3.0, "s1": 0.0, "s2": -6.0, "s3": -3.0}  # words of the bad phrases, counted by hand
    normalized = reference.capevalkit_normalize_metric_output(out, "bad")
    name, per_item = reference.capevalkit_score_values(normalized, None)
    assert name == "bad" and per_item == out
    k = reference.capevalkit_kendall([per_item[s.id] for s in samples], [s.human_score for s in samples])
    import scipy.stats

    assert k["kendall_tau_b"] == pytest.approx(
        100 * scipy.stats.kendalltau(list(out.values()), [0, 1, 2, 3]).statistic
    )
    with pytest.raises(RewardkitError, match="not a CaptionSample"):
        C.metric(reward)([{"id": "x"}])


def test_a_preset_component_as_a_capevalkit_metric(tmp_path, open_clip_dir):
    from rewardkit.presets import build_reward

    preset = tmp_path / "clip.json"
    preset.write_text(
        json.dumps(
            {
                "name": "clip",
                "models": {"clip": {"backend": "open_clip", "checkpoint": f"local-dir:{open_clip_dir}"}},
                "components": [{"name": "clipscore", "reward": "clipscore", "model": "clip"}],
            }
        )
    )
    paths = _images(tmp_path, 3)
    samples = [CaptionSample(str(k), paths[k], [], f"a photo number {k}") for k in range(3)]
    got = C.metric(f"{preset}:clipscore", device="cpu")(samples)
    imgs = [Image.open(p).convert("RGB") for p in paths]
    want = build_reward(preset, device="cpu").score_components([s.prediction for s in samples], images=imgs)[
        "clipscore"
    ]
    assert list(got) == ["0", "1", "2"] and list(got.values()) == pytest.approx(want)


SCORE_FILES = {
    "runner_two_keys": {
        "CLIPScore": 0.5,
        "RefCLIPScore": 0.4,
        "per_item": {
            "a": {"CLIPScore": 0.7, "RefCLIPScore": 0.2},
            "b": {"CLIPScore": 0.3, "RefCLIPScore": 0.6},
        },
    },
    "named": {"CLIPScoreavg": {"score": 0.5, "per_item": {"a": 0.1, "b": 0.9}}},
    "benchmark_result": {
        "metric": "polos",
        "score_name": "Polos",
        "correlations": {"kendall_tau_b": 1.0, "kendall_tau_c": 1.0},
        "raw_metric_output": {
            "Polos": {
                "score": 0.5,
                "per_item": {
                    "a": {
                        "score": 0.25,
                        "ground_truth_score": 1,
                        "caption": "x",
                        "image": "i",
                        "references": [],
                    },
                    "b": {
                        "score": 0.75,
                        "ground_truth_score": 0,
                        "caption": "y",
                        "image": "j",
                        "references": [],
                    },
                },
            }
        },
    },
}


@pytest.mark.parametrize(
    ("shape", "key"),
    [
        ("runner_two_keys", None),
        ("runner_two_keys", "RefCLIPScore"),
        ("named", None),
        ("benchmark_result", None),
    ],
)
def test_score_files_read_as_capevalkit_reads_them(tmp_path, shape, key):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCORE_FILES[shape]))
    data = SCORE_FILES[shape]
    if shape == "benchmark_result":
        want = reference.capevalkit_score_values(data["raw_metric_output"], data["score_name"])
    else:
        want = reference.capevalkit_score_values(data, key)
    assert C.read_scores(path, key) == want


def test_exported_samples_scored_elsewhere_rank_like_the_same_reward_here(tmp_path):
    from typer.testing import CliRunner

    from rewardkit.cli.main import app

    def words(captions, images, references=None, progress=None):  # a "metric" CaptionEvalKit could run
        return [float(len(c.split())) for c in captions]

    r = CliRunner().invoke(
        app, ["bench", "--benchmark", "toy-foil", "--limit", "3", "--export-samples", str(tmp_path / "x")]
    )
    assert r.exit_code == 0, r.output
    preds = [json.loads(line) for line in (tmp_path / "x" / "predictions.jsonl").read_text().splitlines()]
    refs = [json.loads(line) for line in (tmp_path / "x" / "references.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == [q["id"] for q in refs] and len({p["id"] for p in preds}) == len(preds)
    assert all(Image.open(p["image"]).size for p in preds)  # rendered scenes written as files
    # CaptionEvalKit's runner output for these samples: {"WORDS": {"score", "per_item": {id: value}}}
    scores = {p["id"]: float(len(p["caption"].split())) for p in preds}
    (tmp_path / "words.json").write_text(json.dumps({"WORDS": {"score": 0.0, "per_item": scores}}))
    via_file = run_reward_bench(
        f"capevalkit:{tmp_path / 'words.json'}",
        "toy-foil",
        data_dir=None,
        limit=3,
        seed=0,
        out=tmp_path / "res",
        device="cpu",
        batch_size=4,
    )
    here = run_reward_bench(
        "words",
        "toy-foil",
        data_dir=None,
        limit=3,
        seed=0,
        out=tmp_path / "res2",
        device="cpu",
        batch_size=4,
        scorer=words,
    )
    assert via_file["metrics"] == here["metrics"] and via_file["n"] == here["n"]
    assert "CaptionEvalKit" in via_file["source"] and via_file["truncation"] is None
    del scores[preds[0]["id"]]
    (tmp_path / "part.json").write_text(json.dumps({"WORDS": {"score": 0.0, "per_item": scores}}))
    # the dropped full description is the preferred caption of all 5 foils of its scene (one per attribute)
    with pytest.raises(RewardkitError, match=r"5 of 30 captions have no score.*--export-samples"):
        run_reward_bench(
            f"capevalkit:{tmp_path / 'part.json'}",
            "toy-foil",
            data_dir=None,
            limit=3,
            seed=0,
            out=tmp_path / "res3",
            device="cpu",
            batch_size=4,
        )


def test_parquet_images_are_exported_as_files(tmp_path):
    from tests.bench.test_hub_judgments import composite_dir

    composite_dir(tmp_path / "d", n=6)
    res = C.export_samples("composite", tmp_path / "x", data_dir=tmp_path / "d", limit=None, seed=0)
    assert res["samples"] == 6 and res["images"] == 5  # six captions on five distinct images
    preds = [json.loads(line) for line in (tmp_path / "x" / "predictions.jsonl").read_text().splitlines()]
    assert {Image.open(p["image"]).format for p in preds} == {"PNG"}
    with pytest.raises(RewardkitError, match="no such file"):
        C.ScoreFileScorer(f"capevalkit:{tmp_path / 'none.json'}")

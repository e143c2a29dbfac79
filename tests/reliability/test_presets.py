"""Preset files: every mistake is one line naming the file and the key; NaN and infinite weights are refused."""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import cli

BAD = [
    (
        {"components": [{"reward": "bad", "weight": "heavy"}]},
        "components[0].weight must be a number, not 'heavy'",
    ),
    ({"components": [{"reward": "bad", "weight": float("nan")}]}, "components[0].weight must be finite"),
    ({"components": [{"reward": "bad", "weight": float("inf")}]}, "components[0].weight must be finite"),
    ({"components": [{"reward": "bad", "weight": True}]}, "components[0].weight must be a number"),
    ({"models": ["clip"], "components": [{"reward": "bad"}]}, "models must be a mapping"),
    (
        {"components": [{"reward": "bad", "options": {"phrase": ["x"]}}]},
        "unknown key 'phrase' (did you mean 'phrases'?)",
    ),
    (
        {"components": [{"reward": "bad", "wieght": 1}]},
        "components[0]: unknown key 'wieght' (did you mean 'weight'?)",
    ),
    ({"componets": [{"reward": "bad"}]}, "unknown key 'componets' (did you mean 'components'?)"),
    ({"components": []}, "components must be a non-empty list"),
    ({"components": {"reward": "bad"}}, "components must be a non-empty list"),
    ({"components": [{"reward": "bda"}]}, "components[0].reward"),
    ({"components": [{"reward": "itm"}]}, "components[0].model must be a non-empty string"),
    ({"components": [{"reward": "itm", "model": "nope"}]}, "components[0].model: no model 'nope'"),
    (
        {"components": [{"reward": "bad"}, {"reward": "bad"}]},
        "components[1].name 'bad' is reserved or used twice",
    ),
    ({"components": [{"reward": "bad", "name": "total"}]}, "components[0].name 'total' is reserved"),
    (
        {"models": {"m": {"backend": "open_clip"}}, "components": [{"reward": "bad"}]},
        "models.m needs 'backend' and 'checkpoint'",
    ),
    (
        {"models": {"m": {"backend": "opne_clip", "checkpoint": "x"}}, "components": [{"reward": "bad"}]},
        "models.m.backend",
    ),
    ({"components": [{"reward": "bad"}], "evaluator": "nope"}, "evaluator: no model 'nope'"),
]


@pytest.mark.parametrize(("spec", "says"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_preset_mistakes_are_one_line_naming_file_and_key(folder, tmp_path, spec, says):
    preset = tmp_path / "p.json"
    preset.write_text(json.dumps(spec))
    run = cli("score", folder / "captions.jsonl", "--preset", preset, "-o", tmp_path / "o.jsonl", "-q")
    assert run.code == 2
    line = run.error_line()
    assert str(preset) in line and says in line, line
    assert not (tmp_path / "o.jsonl").exists()


def test_yaml_nan_and_inf_are_refused(folder, tmp_path):
    for text in ("weight: .nan", "weight: .inf", "weight: -.inf"):
        preset = tmp_path / "p.yaml"
        preset.write_text("components:\n  - reward: bad\n    " + text + "\n")
        run = cli("score", folder / "captions.jsonl", "--preset", preset, "-q")
        assert run.code == 2 and "components[0].weight must be finite" in run.error_line()


def test_a_model_folder_of_random_files_is_one_line(folder, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "config.json").write_text("{not json")
    (junk / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    preset = tmp_path / "p.json"
    preset.write_text(
        json.dumps(
            {
                "models": {"itm": {"backend": "blip2_itm", "checkpoint": str(junk)}},
                "components": [{"reward": "itm", "model": "itm"}],
            }
        )
    )
    run = cli("score", folder / "captions.jsonl", "--preset", preset, "-q")
    assert run.code == 2
    line = run.error_line()
    assert str(preset) in line and "models.itm" in line and "junk" in line
    clip = tmp_path / "p2.json"
    clip.write_text(
        json.dumps(
            {
                "models": {"c": {"backend": "open_clip", "checkpoint": f"local-dir:{junk}"}},
                "components": [{"reward": "clip", "model": "c"}],
            }
        )
    )
    run = cli("score", folder / "captions.jsonl", "--preset", clip, "-q")
    assert run.code == 2 and "models.c" in run.error_line()


def test_unreadable_and_invalid_preset_files(folder, tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("components: [\n")
    run = cli("score", folder / "captions.jsonl", "--preset", preset, "-q")
    assert run.code == 2 and "not valid YAML" in run.error_line()
    preset.write_bytes(b"\xff\xfe")
    run = cli("score", folder / "captions.jsonl", "--preset", preset, "-q")
    assert run.code == 2 and "cannot read" in run.error_line()

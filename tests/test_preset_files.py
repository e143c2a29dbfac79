"""Preset files: every mistake is one line naming the file and the key; NaN and infinite weights are refused."""

from __future__ import annotations

import json

import pytest

# ruff: noqa: F811  (the fixtures imported below are named as the tests' arguments)
from tests.reliability.conftest import (  # noqa: F401  (folder, text_preset: fixtures)
    cli,
    folder,
    text_preset,
)

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


TYPED = [
    ("description: [a, b]\ncomponents: [{reward: bad}]\n", "description must be a string, not a list"),
    (
        "components:\n  - reward: bad\n    weight: 1e3\n",
        "components[0].weight must be a number, not '1e3' (YAML reads",
    ),
    (
        "components:\n  - reward: repeat\n    options: {exempt: 5}\n",
        "components[0].options.exempt must be a list of strings or a string or a path or null, not 5",
    ),
    (
        "components:\n  - reward: clipscore\n    model: toy-clip\n    options: {w: 2.5e0}\n",
        "components[0].options.w must be a number or null, not '2.5e0' (YAML reads",
    ),
    (
        "components:\n  - reward: clipscore\n    model: toy-clip\n    options: {prompt: 5}\n",
        "components[0].options.prompt must be a string or null, not 5",
    ),
    (
        "models:\n  m: {backend: blip2_itm, checkpoint: x, options: {max_length: '64'}}\n"
        "components: [{reward: itm, model: m}]\n",
        "models.m.options.max_length must be an integer, not '64'",
    ),
    (
        "models:\n  m: {backend: blip2_itm, checkpoint: x, options: {max_lenght: 64}}\n"
        "components: [{reward: itm, model: m}]\n",
        "models.m.options: unknown key 'max_lenght' (did you mean 'max_length'?)",
    ),
    (
        "components: [{reward: clip, model: toy-clip}]\nevaluator: toy-itm\n",
        "evaluator: 'toy-itm' is a blip2_itm model; an evaluator must be a CLIP-family model",
    ),
    (
        "models:\n  lm: {backend: causal_lm, checkpoint: x}\ncomponents: [{reward: bad}]\nevaluator: lm\n",
        "evaluator: 'lm' is a causal_lm model",
    ),
]


@pytest.mark.parametrize(("text", "says"), TYPED, ids=[str(i) for i in range(len(TYPED))])
def test_every_field_and_option_is_checked_against_its_declared_type(folder, tmp_path, text, says):
    preset = tmp_path / "p.yaml"
    preset.write_text(text)
    run = cli("score", folder / "captions.jsonl", "--preset", preset, "-o", tmp_path / "o.jsonl", "-q")
    assert run.code == 2
    line = run.error_line()
    assert str(preset) in line and says in line, line
    assert not (tmp_path / "o.jsonl").exists()


def test_alias_bombs_and_recursive_aliases_are_one_line(folder, tmp_path):
    from tests.test_config_files import billion_laughs

    for name, text, says in [
        ("bomb.yaml", billion_laughs(), "YAML aliases expand to more than 10,000 values"),
        (
            "rec.yaml",
            "components:\n  - reward: bad\n    options: &o\n      phrases: *o\n",
            "rec.yaml:3: a recursive YAML alias",
        ),
    ]:
        preset = tmp_path / name
        preset.write_text(text)
        run = cli("score", folder / "captions.jsonl", "--preset", preset, "-q")
        assert run.code == 2 and says in run.error_line()


def test_rewards_naming_no_component_is_refused(folder, text_preset, tmp_path):
    for value in (",", " , ,", ""):
        run = cli(
            "score",
            folder / "captions.jsonl",
            "--preset",
            text_preset,
            "--rewards",
            value,
            "-o",
            tmp_path / "o.jsonl",
        )
        assert run.code == 2
        line = run.error_line()
        assert "--rewards" in line and "names no component" in line and "bad, repeat, noeos" in line
        assert not (tmp_path / "o.jsonl").exists()


def test_a_registered_evaluator_of_every_preset_is_clip_family():
    from rewardkit.presets import evaluator_problem
    from rewardkit.registry import MODELS, PRESETS

    for name in PRESETS:
        p = PRESETS.get(name)
        assert p.evaluator is None or evaluator_problem(MODELS.get(p.evaluator)) is None, name

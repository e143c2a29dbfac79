"""``rewardkit toy``: make-set on each tier, and unknown tiers refused in one line."""

import json

from typer.testing import CliRunner

from rewardkit.cli.main import app
from rewardkit.toy import hard as h
from rewardkit.toy import scenes as sc


def test_make_set_command(tmp_path):
    result = CliRunner().invoke(
        app, ["toy", "make-set", "--n", "6", "--seed", "3", "--out", str(tmp_path / "set")]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (tmp_path / "set" / "captions.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and set(rows[0]) == {"id", "image", "caption", "terse", "references", "scene"}
    assert all((tmp_path / "set" / r["image"]).is_file() for r in rows)
    assert rows[0]["caption"] == sc.full(sc.Scene.from_dict(rows[0]["scene"]))


def test_make_set_tier_hard(tmp_path):
    result = CliRunner().invoke(
        app, ["toy", "make-set", "--tier", "hard", "--n", "5", "--seed", "2", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (tmp_path / "s" / "captions.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and rows[0]["id"].startswith("toy-hard-2-")
    scene = h.Scene.from_dict(rows[0]["scene"])
    assert rows[0]["caption"] == h.full(scene) and h.held_out_combinations(scene)
    from PIL import Image

    with Image.open(tmp_path / "s" / rows[0]["image"]) as im:
        assert im.size == (96, 96)


def test_unknown_tier_is_one_line(tmp_path):
    from rewardkit.errors import RewardkitError

    result = CliRunner().invoke(app, ["toy", "make-set", "--tier", "medium", "--out", str(tmp_path)])
    assert isinstance(result.exception, RewardkitError)  # main() prints it as one line, exit 2
    assert "unknown toy tier 'medium'" in str(result.exception)


def test_train_models_refuses_what_a_tier_does_not_have_before_training(tmp_path):
    from rewardkit.errors import RewardkitError

    state_file = tmp_path / "state"
    state_file.write_text("not a folder")
    empty_init = tmp_path / "init"
    (empty_init / "clip").mkdir(parents=True)
    cases = [
        (["--tier", "toy", "--only", "judge"], "the toy tier has no judge"),
        (
            ["--tier", "toy", "--only", "clip", "--init", str(tmp_path)],
            "the toy tier has no 'continue' budget",
        ),
        (
            ["--tier", "hard", "--only", "clip", "--init", str(tmp_path)],
            f"--init {tmp_path}: no clip/ folder",
        ),
        (["--tier", "hard", "--only", "captioner", "--init", str(tmp_path)], "continues clip and itm only"),
        (["--tier", "hard", "--only", "vision"], "unknown part(s) vision"),
        (["--tier", "hard", "--only", ""], "--only names no model"),
        (["--tier", "hard", "--only", "clip", "--init", str(tmp_path / "nope")], "no such folder"),
        (["--tier", "hard", "--only", "clip", "--checkpoint", str(state_file)], "is a file; choose a folder"),
        (
            ["--tier", "hard", "--only", "clip", "--init", str(empty_init)],
            "clip/ holds no open_clip_model.safetensors",
        ),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, ["toy", "train-models", "--out", str(tmp_path / "out"), *args])
        assert isinstance(result.exception, RewardkitError), args
        assert message in str(result.exception), (args, str(result.exception))
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written

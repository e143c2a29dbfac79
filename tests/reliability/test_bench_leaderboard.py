"""``bench --model captions:PATH`` against missing, malformed and hostile files; bench option mistakes."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import cli


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ('{"id": "a", "caption": "x"}\n{oops\n', ":2: malformed JSON"),
        ('{"id": "a"}\n', ":1 (id 'a'): missing 'caption'"),
    ],
)
def test_bench_captions_file_goes_through_the_row_reader(tmp_path, content, says):
    path = tmp_path / "given.jsonl"
    if content is not None:
        path.write_text(content)
    run = cli(
        "bench",
        "--model",
        f"captions:{path}",
        "--benchmark",
        "toy",
        "--limit",
        4,
        "--out",
        tmp_path / "res",
        "-q",
    )
    assert run.code == 2
    assert says in run.error_line()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["bench", "--model", "toy-a2c", "--benchmark", "toy", "--limit", "-5", "-q"],
            "--limit must be at least 1",
        ),
        (["toy", "quality", "--n", "0"], "--n must be at least 2"),
        (["bench", "--model", "toy-a2c", "--benchmark", "tyo", "-q"], "did you mean 'toy'"),
        (["bench", "--model", "toy-a2d", "-q"], "did you mean 'toy-a2c'"),
    ],
)
def test_bad_options_are_one_line(tmp_path, args, says):
    run = cli(*args, "--out", tmp_path / "o") if args[0] == "bench" else cli(*args)
    assert run.code == 2 and says in run.error_line()


def test_a_missing_gpu_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from tests.reliability.conftest import write_rows

    path = write_rows(tmp_path / "c.jsonl", [{"id": "a", "caption": "a cat"}])
    run = cli("score", path, "--preset", "toy", "--rewards", "ref", "--device", "cuda", "-q")
    assert run.code == 2 and "no CUDA GPU is available" in run.error_line()

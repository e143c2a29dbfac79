"""benchmarks/_scale_penalties.py (bench_scale's penalties part): keys, and captions the reference agrees on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rewardkit.functional.penalties import default_bad_phrases
from tests.reference import old_bad_phrase_spans

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "_scale_penalties.py"


def _module():
    spec = importlib.util.spec_from_file_location("_scale_penalties", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_the_keys_bench_scale_reads():
    bench = _module()
    result = bench.run(quick=True)
    assert result["n_captions"] == 4096
    assert result["penalties_vs_word_scan"] > 0
    assert set(result["captions_per_s"]) == {"bad", "repeat", "noeos"}
    assert all(v > 0 for v in result["captions_per_s"].values())
    # the benchmark's captions hold bad phrases as the former definition finds them
    phrases = default_bad_phrases()
    expected = sum(bool(old_bad_phrase_spans(c, phrases, include_years=True)) for c in bench.captions(4096))
    assert result["captions_with_a_bad_phrase"] == expected

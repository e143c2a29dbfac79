"""Text-only scoring at scale: ``rewardkit score --rewards bad,repeat,noeos`` end to end against a plain JSON pass.

For 10^5 and 10^6 rows (10^4 and 10^5 with ``quick``) the CLI runs as a subprocess (reading the
captions file, checking every row, scoring, writing OUT, its fingerprints and the summary); its
rows/s is set against a plain ``json.loads``/``json.dumps`` pass over the same rows in this process,
measured in the same run, and its peak RSS is read from the kernel (``wait4``).
``pipeline_only_vs_json_pass`` is the same ratio for ``--rewards noeos`` alone: what reading,
checking, batching, writing and the resume record cost without the phrase and repeat penalties. Targets (issue 28):
``text_vs_json_pass`` (the JSON pass's rows/s over the CLI's, the worse of the two sizes) within
10, and ``rss_ratio`` (peak RSS at the larger size over the smaller) at most 1.25.

``python benchmarks/_scale_text.py [--quick]`` prints the JSON; ``benchmarks/bench_scale.py`` calls
:func:`run`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "a the man woman dog cat red blue green small large tree car bus street table near on in with of two "
    "three people sitting standing holding next to white black young old field road kitchen plate"
).split()
BAD = ["an image of", "a picture of", "there is", "in the background"]


def write_rows(path: Path, n: int) -> None:
    """``n`` caption rows (id and caption, 6-14 words, some with a bad phrase or a repeated word), deterministic."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            k = 6 + (i * 7) % 9
            words = [WORDS[(i * 31 + j * 17 + (i >> 3)) % len(WORDS)] for j in range(k)]
            if i % 5 == 0:
                words = BAD[i % len(BAD)].split() + words
            fh.write(json.dumps({"id": f"r{i}", "caption": " ".join(words)}) + "\n")


def json_pass(src: Path, dst: Path) -> float:
    """Seconds for a plain pass: every line ``json.loads``-ed, a record ``json.dumps``-ed and written."""
    start = time.perf_counter()
    with open(src, encoding="utf-8") as fh, open(dst, "w", encoding="utf-8") as out:
        for line in fh:
            row = json.loads(line)
            out.write(json.dumps({"id": row["id"], "caption": row["caption"], "total": 0.0}) + "\n")
    return time.perf_counter() - start


def cli_run(src: Path, out: Path, rewards: str = "bad,repeat,noeos") -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``rewardkit score SRC --rewards REWARDS -o OUT -q``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "rewardkit", "score", str(src), "--rewards", rewards]
    cmd += ["-o", str(out), "-q"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"rewardkit score failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def run(quick: bool = False) -> dict:
    """Rows/s against a JSON pass and peak RSS at two sizes (10^5 and 10^6 rows; 10^4 and 10^5 with ``quick``)."""
    sizes = (10**4, 10**5) if quick else (10**5, 10**6)
    text: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            src = Path(tmp) / f"rows{n}.jsonl"
            write_rows(src, n)
            base = json_pass(src, Path(tmp) / "plain.jsonl")
            seconds, rss = cli_run(src, Path(tmp) / f"out{n}.jsonl")
            with open(Path(tmp) / f"out{n}.jsonl", "rb") as fh:
                written = sum(1 for _ in fh)
            assert written == n, f"OUT holds {written} rows, not {n}"
            text[str(n)] = {
                "rows": n,
                "cli_seconds": round(seconds, 2),
                "cli_rows_per_s": round(n / seconds, 1),
                "json_rows_per_s": round(n / base, 1),
                "ratio": round(seconds / base, 2),
                "peak_rss_mb": round(rss, 1),
            }
            for p in Path(tmp).glob("out*"):
                p.unlink()
            # the same run with the cheapest penalty alone: the pipeline's own cost (reading, checks, writing)
            alone, _ = cli_run(src, Path(tmp) / f"out{n}.jsonl", rewards="noeos")
            text[str(n)]["pipeline_only_ratio"] = round(alone / base, 2)
            for p in Path(tmp).glob("out*"):
                p.unlink()
    small, large = (text[str(n)] for n in sizes)
    return {
        "text_vs_json_pass": max(small["ratio"], large["ratio"]),
        "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        "pipeline_only_vs_json_pass": max(small["pipeline_only_ratio"], large["pipeline_only_ratio"]),
        "text": text,
        "sizes": list(sizes),
        "targets": {"text_vs_json_pass": "<= 10", "rss_ratio": "<= 1.25"},
        "quick": quick,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))

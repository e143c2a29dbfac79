"""Scoring at scale: image pipeline, overlap with the forward, text throughput and memory, penalties.

Every figure is a ratio against a baseline measured in the same run (keys as issue #28 names them):

  pipeline_vs_reference  rewardkit's image pipeline (decode + each model's transform + batching, no
                         forward) images/s over a reference torch DataLoader with the same workers
                         decoding with PIL and applying the model's own transform; 1,000 photo-like
                         640x480 JPEGs. Target >= 0.9.              (benchmarks/_scale_images.py)
  overlap_ratio          end-to-end time with a simulated forward (sleeps per batch, releasing the CPU
                         as a GPU does) over max(pipeline time, forward time). Target <= 1.15.
  text_vs_json_pass      rows/s of `rewardkit score --rewards bad,repeat,noeos` end to end over a
                         plain json.loads/json.dumps pass of the same rows, at 10^5 and 10^6 rows;
                         rss_ratio: peak RSS at 10^6 rows over 10^5. Targets: within 10x, <= 1.25.
                                                                    (benchmarks/_scale_text.py)
  penalties_vs_word_scan the three text penalties on 4,096 captions over one `\\w+` word scan of the
                         same captions. Target <= 5.              (benchmarks/_scale_penalties.py)

Run: python benchmarks/bench_scale.py [--quick] [--only images,text,penalties]
Writes benchmarks/results/scale.json (parts not run keep their earlier values).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = {"images": "_scale_images", "text": "_scale_text", "penalties": "_scale_penalties"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not a result)")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ", ".join(PARTS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.exit(f"error: unknown part(s) {unknown}; choose from {list(PARTS)}")
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    for part in parts:
        start = time.perf_counter()
        figures = importlib.import_module(PARTS[part]).run(quick=args.quick)
        figures["seconds"] = round(time.perf_counter() - start, 1)
        result[part] = figures
        for key, value in figures.items():
            if not isinstance(value, dict):
                print(f"{part:10s} {key:28s} {value}")
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d"),
    }
    for part in PARTS:
        for key in (
            "pipeline_vs_reference",
            "overlap_ratio",
            "text_vs_json_pass",
            "rss_ratio",
            "penalties_vs_word_scan",
        ):
            if key in result.get(part, {}):
                result[key] = result[part][key]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

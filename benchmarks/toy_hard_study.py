"""The seeded reward-design comparison on the toy-hard tier: SFT, VLRM, VLRM-RS and ESPER.

Every arm starts from ``toy-hard-sft`` and runs the same number of A2C steps (the same number of
sampled captions) with the toy-hard training defaults, once per seed. Each policy is then judged on
the compositional split by measures no arm optimises:

- **judge R@1**: text-to-image retrieval by ``toy-hard-judge``, a CLIP of another depth trained on
  its own scene pool with its own seed and used by no preset;
- **claim precision / recall** from the generator's ground truth (:mod:`rewardkit.toy.claims`);
- grammaticality, words per caption, and the reference LM's mean log-prob;
- beside them the reward models' own views (evaluator R@1 by ``toy-hard-clip``, ITC R@1 by
  ``toy-hard-itm``), which some arms optimise.

Intervals: 95 % percentile intervals of a two-level bootstrap (seeds with replacement, then the
evaluation scenes with replacement, the same scene draw for every seed and arm, so differences
are paired on scenes). A difference is called *outside the intervals* when the 95 % interval of the
difference itself excludes 0.

    python benchmarks/toy_hard_study.py train --seeds 0,1,2 --steps 250 --jobs 2   # resumable
    python benchmarks/toy_hard_study.py evaluate --n 1000                          # cached per policy
    python benchmarks/toy_hard_study.py report                                     # toy_hard.json + table

Runs live in ``--out`` (default ``runs/toy_hard_study``): ``<preset>/seed<S>/`` is an ordinary
``rewardkit train`` folder (``metrics.jsonl``, ``checkpoints/``, ``policy/``); running ``train``
again continues every unfinished run from its newest checkpoint (``--resume``), so a study can span
several sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ARMS = {"vlrm": "toy-hard", "vlrm-rs": "toy-hard-rs", "esper": "toy-hard-esper"}
"""Trained arms -> preset (the SFT start is the fourth arm, not trained)."""
LABELS = {"sft": "SFT (start)", "vlrm": "VLRM", "vlrm-rs": "VLRM-RS", "esper": "ESPER"}
METRICS = (
    "judge_R@1",
    "claim_precision",
    "claim_recall",
    "grammatical",
    "ref_logprob",
    "words",
    "evaluator_R@1",
    "itc_R@1",
)
"""Measures of the table, in order (the first six are no arm's reward; the last two are reward views)."""
RESULT = Path(__file__).parent / "results" / "toy_hard.json"
EVAL_SEED = 5000


def _fail(message: str) -> None:
    """One line on stderr, exit code 2 (the project's convention for bad input)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _run_dir(out: Path, arm: str, seed: int) -> Path:
    return out / ARMS[arm] / f"seed{seed}"


def _finished(run: Path, steps: int) -> bool:
    metrics = run / "metrics.jsonl"
    if not (run / "policy" / "model.safetensors").exists() or not metrics.exists():
        return False
    lines = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
    return bool(lines) and lines[-1]["step"] >= steps


def train_one(out: Path, arm: str, seed: int, steps: int, probe_every: int, probe_size: int) -> str:
    """``rewardkit train`` for one arm and seed (one thread); resumes a stopped run."""
    run = _run_dir(out, arm, seed)
    if _finished(run, steps):
        return f"{arm} seed {seed}: done already"
    run.parent.mkdir(parents=True, exist_ok=True)
    cfg = run.parent / f"seed{seed}.json"
    cfg.write_text(json.dumps({"seed": seed, "probe_every": probe_every, "probe_size": probe_size}))
    cmd = [sys.executable, "-m", "rewardkit", "train", "--preset", ARMS[arm], "--config", str(cfg)]
    cmd += ["--steps", str(steps), "--out", str(run), "--quiet", "--device", "cpu"]
    if (run / "metrics.jsonl").exists():
        cmd.append("--resume")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.time()
    with open(run.parent / f"seed{seed}.log", "a") as log:
        rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        _fail(f"{arm} seed {seed}: rewardkit train exited {rc} (log: {run.parent / f'seed{seed}.log'})")
    return f"{arm} seed {seed}: {steps} steps in {(time.time() - t0) / 60:.1f} min"


def train(args: argparse.Namespace) -> None:
    jobs = [(arm, s) for s in args.seeds for arm in args.arms]
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(train_one, args.out, arm, s, args.steps, args.probe_every, args.probe_size)
            for arm, s in jobs
        ]
        for f in futures:
            print(f.result(), flush=True)


# ---------------------------------------------------------------- evaluation (per scene, cached)


class Judges:
    """The models that judge every policy, loaded once, with the evaluation images embedded once."""

    def __init__(self, n: int) -> None:
        import torch

        from rewardkit.backends.blip2_itm import Blip2ITMBackend
        from rewardkit.backends.causal_lm import CausalLMBackend
        from rewardkit.backends.open_clip import OpenCLIPBackend
        from rewardkit.registry import MODELS
        from rewardkit.toy import hard

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        self.scenes = hard.distinct_scenes(n, EVAL_SEED)
        self.images = [hard.render(s) for s in self.scenes]
        self.judge = OpenCLIPBackend(MODELS.get("toy-hard-judge").checkpoint, device="cpu", batch_size=256)
        self.evaluator = OpenCLIPBackend(MODELS.get("toy-hard-clip").checkpoint, device="cpu", batch_size=256)
        spec = MODELS.get("toy-hard-itm")
        self.itm = Blip2ITMBackend(spec.checkpoint, device="cpu", batch_size=128, **spec.options)
        self.lm = CausalLMBackend(MODELS.get("toy-hard-opt").checkpoint, device="cpu", batch_size=128)
        self.judge_img = self.judge.encode_images(self.images)
        self.evaluator_img = self.evaluator.encode_images(self.images)

    def measure(self, captions: list[str]) -> dict[str, list[float]]:
        """Per-scene measures of one caption per evaluation scene."""
        from rewardkit.functional.retrieval import retrieval_ranks
        from rewardkit.registry import TIERS
        from rewardkit.toy import hard
        from rewardkit.toy.claims import count_claims

        def hits(sim: Any) -> list[float]:
            return [float(r == 1) for r in retrieval_ranks(sim).tolist()]

        counts = [
            count_claims(c, s, TIERS.get("toy-hard")) for c, s in zip(captions, self.scenes, strict=True)
        ]
        return {
            "judge_R@1": hits(self.judge.encode_texts(captions) @ self.judge_img.T),
            "evaluator_R@1": hits(self.evaluator.encode_texts(captions) @ self.evaluator_img.T),
            "itc_R@1": hits(self.itm.itc_matrix(self.images, captions)),
            "ref_logprob": [float(x) for x in self.lm.mean_logprob(captions)],
            "grammatical": [float(hard.is_grammatical(c)) for c in captions],
            "words": [float(len(c.split())) for c in captions],
            "claims_stated": [float(c.stated) for c in counts],
            "claims_true": [float(c.true) for c in counts],
            "facts": [float(c.facts) for c in counts],
            "facts_stated": [float(c.facts_stated) for c in counts],
        }


def _policies(out: Path, steps: int) -> dict[tuple[str, int], str]:
    from rewardkit.registry import MODELS

    found = {("sft", 0): MODELS.get("toy-hard-sft").checkpoint}
    for arm in ARMS:
        for run in sorted((out / ARMS[arm]).glob("seed*")):
            if run.is_dir() and _finished(run, steps):
                found[(arm, int(run.name[4:]))] = str(run / "policy")
    return found


def evaluate(args: argparse.Namespace) -> None:
    from rewardkit.backends.blip2_captioner import Blip2Captioner
    from rewardkit.bench.benchmarks import get_benchmark

    judges = None
    cache = args.out / "eval"
    cache.mkdir(parents=True, exist_ok=True)
    for (arm, seed), policy in _policies(args.out, args.steps).items():
        path = cache / f"{arm}-seed{seed}-n{args.n}.json"
        if path.exists():
            continue
        judges = judges or Judges(args.n)
        t0 = time.time()
        captioner = Blip2Captioner(policy, device="cpu", batch_size=100)
        caps = captioner.caption(judges.images, **get_benchmark("toy-hard").generation)
        record = {"arm": arm, "seed": seed, "policy": policy, "captions": caps, **judges.measure(caps)}
        path.write_text(json.dumps(record) + "\n")
        print(
            f"{arm} seed {seed}: judge R@1 {sum(record['judge_R@1']) / args.n:.3f} ({time.time() - t0:.0f} s)"
        )


# ---------------------------------------------------------------- statistics


def _statistic(name: str, rec: dict[str, Any], idx: Any) -> float:
    """One measure of one policy over the scene draw ``idx`` (ratios of sums for the claim measures)."""
    import numpy as np

    if name == "claim_precision":
        return float(
            np.asarray(rec["claims_true"])[idx].sum() / max(np.asarray(rec["claims_stated"])[idx].sum(), 1)
        )
    if name == "claim_recall":
        return float(np.asarray(rec["facts_stated"])[idx].sum() / np.asarray(rec["facts"])[idx].sum())
    return float(np.asarray(rec[name])[idx].mean())


def bootstrap(arms: dict[str, list[dict[str, Any]]], n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Means and 95 % intervals per arm and measure, and of every pairwise difference (paired on scenes)."""
    from functools import partial

    from rewardkit.functional.bootstrap import seeded_bootstrap

    n = len(next(iter(arms.values()))[0]["judge_R@1"])
    return seeded_bootstrap(arms, {m: partial(_statistic, m) for m in METRICS}, n, n_boot=n_boot, seed=seed)


def _curve(run: Path) -> list[dict[str, float]]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [
        {
            "step": r["step"],
            "minutes": r["seconds"] / 60,
            "probe_R@1": r["probe_R@1"],
            "probe_grammatical": r["probe_grammatical"],
            "total_mean": r.get("total_mean"),
        }
        for r in rows
        if "probe_R@1" in r
    ]


def report(args: argparse.Namespace) -> None:
    import numpy as np

    cache = args.out / "eval"
    arms: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(cache.glob(f"*-n{args.n}.json")):
        rec = json.loads(path.read_text())
        arms.setdefault(rec["arm"], []).append(rec)
    if not arms:
        _fail(f"no evaluated policies in {cache} (n={args.n}): run `evaluate` first")
    order = [a for a in ("sft", *ARMS) if a in arms]
    arms = {a: sorted(arms[a], key=lambda r: r["seed"]) for a in order}
    stats = bootstrap(arms, n_boot=args.boot)
    runs: dict[str, Any] = {}
    for arm in ARMS:
        if arm not in arms:
            continue
        seeds = {}
        for rec in arms[arm]:
            run = _run_dir(args.out, arm, rec["seed"])
            found = next(iter(sorted(run.glob("checkpoints/*/config.json"))), None)
            cfg = json.loads(found.read_text()) if found else None
            setup = found.with_name("setup.json") if found else None
            seeds[str(rec["seed"])] = {
                "curve": _curve(run),
                "examples": rec["captions"][:5],
                # the policy's and every reward model's identity (weights SHA-256) the run trained with
                "setup": json.loads(setup.read_text()) if setup and setup.exists() else None,
            }
        runs[ARMS[arm]] = {"arm": arm, "label": LABELS[arm], "seeds": seeds, "config": cfg}
    record = {
        "study": {
            "arms": {
                a: {
                    "label": LABELS[a],
                    "seeds": [r["seed"] for r in arms[a]],
                    **stats["arms"][a],
                    "per_seed": {
                        m: [_statistic(m, r, np.arange(len(r["judge_R@1"]))) for r in arms[a]]
                        for m in METRICS
                    },
                }
                for a in order
            },
            "differences": stats["differences"],
            "steps": args.steps,
            "eval": {
                "scenes": f"hard.distinct_scenes({args.n}, {EVAL_SEED}): compositional split",
                "decoding": "toy-hard benchmark (beam)",
                "judge": "toy-hard-judge (held out: no preset uses it)",
                "evaluator": "toy-hard-clip (the ESPER reward and the VLRM-RS Phi model)",
                "itc": "toy-hard-itm ITC (part of the VLRM and VLRM-RS rewards)",
                "interval": f"95 % percentile, {args.boot} two-level bootstrap replicates (seeds, then scenes shared by all arms)",
            },
            "sft_examples": arms["sft"][0]["captions"][:5] if "sft" in arms else [],
        },
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.result.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.result.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(args.result)
    print(table(record))


def table(record: dict[str, Any]) -> str:
    """The comparison as Markdown: mean [95 % interval] per arm and measure."""
    study = record["study"]
    head = "| arm | seeds | " + " | ".join(METRICS) + " |"
    lines = [head, "|" + " --- |" * (len(METRICS) + 2)]
    for s in study["arms"].values():
        cells = [f"{s[m]['mean']:.3f} [{s[m]['lo']:.3f}, {s[m]['hi']:.3f}]" for m in METRICS]
        lines.append(f"| {s['label']} | {len(s['seeds'])} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Differences whose 95 % interval excludes 0:")
    for key, d in study["differences"].items():
        out = [f"{m} {v['mean']:+.3f} [{v['lo']:+.3f}, {v['hi']:+.3f}]" for m, v in d.items() if v["outside"]]
        lines.append(f"- {key}: " + ("; ".join(out) if out else "none"))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument(
        "stage",
        choices=("train", "evaluate", "report", "table"),
        help="train the arms (resumable), evaluate every finished policy, report the statistics into "
        "--result, or print the table of --result",
    )
    ap.add_argument(
        "--out", type=Path, default=Path("runs/toy_hard_study"), help="Folder of the runs and evaluations."
    )
    ap.add_argument(
        "--arms", type=lambda s: s.split(","), default=list(ARMS), help="Comma-separated trained arms."
    )
    ap.add_argument(
        "--seeds",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[0, 1, 2],
        help="Comma-separated seeds.",
    )
    ap.add_argument(
        "--steps", type=int, default=250, help="A2C steps per run (the budget, the same for every arm)."
    )
    ap.add_argument("--probe-every", type=int, default=50, help="Probe R@1 every K steps (the curves).")
    ap.add_argument("--probe-size", type=int, default=100, help="Held-out scenes of the probe.")
    ap.add_argument("--jobs", type=int, default=2, help="Runs side by side (one thread each).")
    ap.add_argument("--n", type=int, default=1000, help="Evaluation scenes.")
    ap.add_argument("--boot", type=int, default=2000, help="Bootstrap replicates.")
    ap.add_argument("--result", type=Path, default=RESULT, help="The study's result JSON.")
    args = ap.parse_args()
    unknown = set(args.arms) - set(ARMS)
    if unknown:
        ap.error(f"--arms: unknown {sorted(unknown)}; choose from {sorted(ARMS)}")
    if args.stage == "train":
        train(args)
    elif args.stage == "evaluate":
        evaluate(args)
    elif args.stage == "report":
        report(args)
    else:
        try:
            record = json.loads(args.result.read_text())
            print(table(record))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            _fail(f"{args.result}: not a toy_hard_study result ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()

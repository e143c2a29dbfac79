"""The micro-VLRM result: A2C with the ``toy`` preset from the toy SFT captioner, on 2 CPU cores.

Measures, on 1,000 held-out scenes (seed 5000), beam captions of the SFT captioner and of the A2C
policy with the ``toy`` benchmark's decoding (VLRM Table 2 without the bigram block, which the toy
language cannot satisfy; the ``table2`` entries repeat the measures with it): toy-CLIP R@1, mean
toy-OPT log-prob (grammar), the share of grammatical captions, bad-phrase and repeat rates. Records R@1 on a 200-scene probe against wall
time during training. Writes benchmarks/results/toy_a2c.json; ``--ship`` copies the policy to the
package as the ``toy-a2c`` model.

Run: python benchmarks/toy_a2c.py [--minutes 30] [--ship]

``--preset toy-hard | toy-hard-rs | toy-hard-esper`` runs the same loop in the toy-hard tier from
``toy-hard-sft`` and measures on 1,000 scenes of its compositional split (seed 5000): R@1/R@5/MRR
with the toy-hard evaluator ``toy-hard-clip`` (the CLIP of the -rs and -esper rewards) and, as a
second view, with the ITC retrieval of ``toy-hard-itm`` (part of the toy-hard and -rs rewards), so
every arm is also judged by a model it did not optimise; each run is merged into
benchmarks/results/toy_hard_single.json under its preset (one run per preset, minutes as the budget; the seeded comparison with intervals is benchmarks/toy_hard_study.py -> results/toy_hard.json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch


def evaluate(model_dir: str, n: int = 1000, seed: int = 5000, a2c_steps: int = 0) -> dict:
    """Beam captions of a toy captioner on held-out scenes and their quality measures (both decodings).

    ``unseen`` repeats the measures on the scenes whose full description is in no training pool
    (the four toy-model pools, and the ``a2c_steps`` steps of scenes the A2C run drew)."""
    from rewardkit.backends.blip2_captioner import Blip2Captioner
    from rewardkit.backends.causal_lm import CausalLMBackend
    from rewardkit.bench.benchmarks import get_benchmark
    from rewardkit.functional.penalties import load_word_list
    from rewardkit.registry import TIERS
    from rewardkit.toy.evaluation import caption_quality, eval_set, evaluator
    from rewardkit.toy.overlap import a2c_descriptions, overlap_report, pool_descriptions, seen_by

    tier = TIERS.get("toy")
    scene_list, images = eval_set(tier, n, seed)
    captioner = Blip2Captioner(model_dir, device="cpu", batch_size=100)
    lm = CausalLMBackend(str(tier.weights / "opt"), device="cpu", batch_size=128)
    clip = evaluator(tier)
    exempt = frozenset(w.lower() for w in load_word_list("toy_repeat_exempt"))  # the toy preset's

    def measures(caps: list[str], keep: list[int] | None = None) -> dict:
        pick = (lambda xs: xs) if keep is None else (lambda xs: [xs[i] for i in keep])
        q = caption_quality(pick(caps), pick(scene_list), pick(images), tier, clip=clip, lm=lm, exempt=exempt)
        return {
            k: q[k]
            for k in (
                "R@1",
                "R@5",
                "MRR",
                "ref_logprob",
                "grammatical",
                "bad_rate",
                "repeat_rate",
                "mean_words",
            )
        }

    pools = {name: pool_descriptions(name, tier) for name in tier.training_pools()}
    if a2c_steps:
        pools["a2c"] = a2c_descriptions(a2c_steps, tier)
    keep = [i for i, seen in enumerate(seen_by(scene_list, tier, pools)["any"]) if not seen]
    caps = captioner.caption(images, **get_benchmark("toy").generation)
    table2 = captioner.caption(images)
    return {
        **measures(caps),
        "table2": measures(table2),
        "overlap": overlap_report(scene_list, tier, pools),
        "unseen": {**measures(caps, keep), "n": len(keep), "table2": measures(table2, keep)},
        "captions": caps,
        "captions_table2": table2,
    }


def evaluate_hard(model_dir: str, n: int = 1000, seed: int = 5000, a2c_steps: int = 0) -> dict:
    """Beam captions (the toy-hard benchmark's decoding) on the compositional split and their measures."""
    from rewardkit.backends.blip2_captioner import Blip2Captioner
    from rewardkit.backends.blip2_itm import Blip2ITMBackend
    from rewardkit.backends.causal_lm import CausalLMBackend
    from rewardkit.bench.benchmarks import get_benchmark
    from rewardkit.functional.penalties import load_word_list
    from rewardkit.registry import MODELS, TIERS
    from rewardkit.toy.evaluation import caption_quality, eval_set, evaluator
    from rewardkit.toy.overlap import a2c_descriptions, overlap_report, pool_descriptions

    tier = TIERS.get("toy-hard")
    scene_list, images = eval_set(tier, n, seed)
    captioner = Blip2Captioner(model_dir, device="cpu", batch_size=100)
    lm = CausalLMBackend(MODELS.get(tier.models["opt"]).checkpoint, device="cpu", batch_size=128)
    itm_spec = MODELS.get(tier.models["itm"])
    itm = Blip2ITMBackend(itm_spec.checkpoint, device="cpu", batch_size=128, **itm_spec.options)
    exempt = frozenset(w.lower() for w in load_word_list("toy_hard_repeat_exempt"))
    caps = captioner.caption(images, **get_benchmark("toy-hard").generation)
    q = caption_quality(caps, scene_list, images, tier, clip=evaluator(tier), lm=lm, itm=itm, exempt=exempt)
    keys = ("R@1", "R@5", "MRR", "itc_R@1", "itc_R@5", "itc_MRR", "ref_logprob", "grammatical")
    keys += ("bad_tokens", "bad_rate", "repeat_tokens", "repeat_rate", "mean_words", "main_correct")
    out: dict = {k: q[k] for k in keys}
    for kind in tier.world().DETAILS:
        out[f"stated_{kind}"] = q[f"stated_{kind}"]
        out[f"correct_{kind}"] = q[f"correct_{kind}"] if q[f"stated_{kind}"] else None
    out["with_false_claim"] = q["with_false_claim"]
    pools = {name: pool_descriptions(name, tier) for name in tier.training_pools()}
    if a2c_steps:
        pools["a2c"] = a2c_descriptions(a2c_steps, tier)
    out["overlap"] = overlap_report(scene_list, tier, pools)
    out["captions"] = caps
    return out


def run_hard(args: argparse.Namespace, command: str) -> None:
    """A2C with a toy-hard preset under a time budget; merged into the toy_hard result file under the preset."""
    from rewardkit.train.a2c import A2CTrainer
    from rewardkit.train.config import load_config

    result_path = args.result or Path(__file__).parent / "results" / "toy_hard_single.json"
    if args.reevaluate:
        evaluate_runs(result_path)
        return
    if args.table:
        print(hard_table(json.loads(result_path.read_text())))
        return
    record = json.loads(result_path.read_text()) if result_path.exists() else {"runs": {}}
    cfg = load_config(args.preset, args.config, steps=args.steps)
    out = args.out / args.preset
    if out.exists():
        shutil.rmtree(out)
    trainer = A2CTrainer(cfg, out)
    t0 = time.time()
    curve = []

    def on_step(m: dict) -> None:
        if "probe_R@1" in m:
            point = {
                "step": m["step"],
                "minutes": (time.time() - t0) / 60,
                "probe_R@1": m["probe_R@1"],
                "probe_grammatical": m["probe_grammatical"],
                "rewards": {k[: -len("_mean")]: v for k, v in m.items() if k.endswith("_mean")},
            }
            curve.append(point)
            print(
                f"step {m['step']:4d}  {point['minutes']:5.1f} min  probe R@1 {m['probe_R@1']:.3f}"
                f"  grammatical {m['probe_grammatical']:.2f}  {m['probe_example']}"
            )

    trainer.train(args.steps, on_step=on_step, max_seconds=args.minutes * 60)
    minutes = (time.time() - t0) / 60
    policy = trainer.export_policy(out / "policy")
    record = json.loads(result_path.read_text()) if result_path.exists() else record
    record.setdefault("runs", {})[args.preset] = {
        "command": command,
        "config": cfg.to_dict(),
        "max_minutes": args.minutes,
        "train_minutes": minutes,
        "steps": trainer.step_index,
        "policy": str(policy),
        "curve": curve,
        "date": time.strftime("%Y-%m-%d"),
    }
    _write(result_path, record)
    if not args.train_only:
        evaluate_runs(result_path)


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)


def evaluate_runs(result_path: Path) -> None:
    """Measure the SFT start and every run's exported policy on the compositional split into the result file."""
    from rewardkit.registry import MODELS

    record = json.loads(result_path.read_text())
    before = evaluate_hard(MODELS.get("toy-hard-sft").checkpoint)
    record["sft"] = {k: v for k, v in before.items() if k != "captions"}
    record["sft"]["examples"] = before["captions"][:5]
    b = record["sft"]
    print(f"SFT: R@1 {b['R@1']:.3f}  ref {b['ref_logprob']:.3f}  grammatical {b['grammatical']:.3f}")
    for preset, run in record.get("runs", {}).items():
        after = evaluate_hard(run["policy"], a2c_steps=run["steps"])
        run["after"] = {k: v for k, v in after.items() if k != "captions"}
        run["examples"] = [{"sft": s, "after": a} for s, a in zip(b["examples"], after["captions"][:5])]
        print(
            f"{preset}: R@1 {after['R@1']:.3f} (ITC {after['itc_R@1']:.3f})  ref {after['ref_logprob']:.3f}"
            f"  grammatical {after['grammatical']:.3f}  words {after['mean_words']:.1f}  false claim {after['with_false_claim']:.3f}"
        )
    record["eval"] = {
        "scenes": "hard.distinct_scenes(1000, 5000): compositional split",
        "evaluator": "toy-hard-clip (R@1, R@5, MRR); itc_*: ITC retrieval of toy-hard-itm",
        "decoding": "toy-hard benchmark (VLRM Table 2 without the bigram block)",
    }
    _write(result_path, record)


HARD_COLUMNS = [
    ("R@1", "R@1"),
    ("R@5", "R@5"),
    ("itc_R@1", "ITC R@1"),
    ("ref_logprob", "ref log-prob"),
    ("grammatical", "grammatical"),
    ("with_false_claim", "false claim"),
    ("bad_tokens", "bad tokens"),
    ("repeat_tokens", "repeat tokens"),
    ("mean_words", "words"),
]


def hard_table(record: dict) -> str:
    """The toy_hard comparison as a Markdown table (the data card's and README's)."""
    rows = [("`toy-hard-sft` (start)", record["sft"], None)]
    names = {"toy-hard": "VLRM", "toy-hard-rs": "VLRM-RS", "toy-hard-esper": "ESPER"}
    rows += [(f"`{p}` ({names.get(p, p)})", r["after"], r) for p, r in record.get("runs", {}).items()]
    head = "| policy | steps | " + " | ".join(c for _, c in HARD_COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(HARD_COLUMNS) + 2)]
    for name, m, run in rows:
        cells = [
            f"{m[k]:.3f}" if k not in ("mean_words", "bad_tokens", "repeat_tokens") else f"{m[k]:.2f}"
            for k, _ in HARD_COLUMNS
        ]
        lines.append(f"| {name} | {run['steps'] if run else 0} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(before: dict, after: dict) -> dict:
    """The result fields measured on held-out scenes (captions left out but for five examples)."""
    examples = [
        {"before": b, "after": a, "after_table2": t}
        for b, a, t in zip(before["captions"][:5], after["captions"][:5], after["captions_table2"][:5])
    ]
    return {
        "before": {k: v for k, v in before.items() if not k.startswith("captions") and k != "overlap"},
        "after": {k: v for k, v in after.items() if not k.startswith("captions") and k != "overlap"},
        "overlap": after.get("overlap"),
        "examples": examples,
        "bar": {"R@1": 0.5, "met": after["R@1"] >= 0.5, "decoding": "toy (Table 2, no_repeat_ngram_size 0)"},
    }


def reevaluate(result: Path, before: dict, after: dict, command: str | None = None) -> None:
    """Replace the held-out measures of an earlier run's result; its training curve stays as recorded."""
    record = json.loads(result.read_text())
    record.update(summary(before, after))
    record["reevaluated"] = time.strftime("%Y-%m-%d")
    if command:
        record["reevaluate_command"] = command
    result.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"SFT R@1 {before['R@1']:.3f} -> A2C R@1 {after['R@1']:.3f} (Table 2: {after['table2']['R@1']:.3f})"
    )


def main() -> None:
    from rewardkit.registry import TOY_WEIGHTS
    from rewardkit.train.a2c import A2CTrainer
    from rewardkit.train.config import load_config

    ap = argparse.ArgumentParser(description="micro-VLRM on the toy world")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--config", type=Path, default=None, help="Overrides of the toy training defaults.")
    ap.add_argument("--out", type=Path, default=Path("runs/toy_a2c"))
    ap.add_argument(
        "--preset",
        default="toy",
        choices=["toy", "toy-hard", "toy-hard-rs", "toy-hard-esper"],
        help="toy (the micro-VLRM result) or a toy-hard preset (merged into results/toy_hard_single.json).",
    )
    ap.add_argument("--ship", action="store_true", help="Copy the policy into the package as toy-a2c.")
    ap.add_argument("--table", action="store_true", help="toy-hard: print the comparison table of --result.")
    ap.add_argument(
        "--train-only",
        action="store_true",
        help="toy-hard: train and record the curve; measure later with --reevaluate (all runs at once).",
    )
    ap.add_argument(
        "--result", type=Path, default=None, help="Default: results/toy_a2c.json or toy_hard_single.json."
    )
    ap.add_argument(
        "--reevaluate",
        action="store_true",
        help="No training: re-measure the SFT and shipped toy-a2c captioners (toy-hard: the SFT and every recorded run's policy) into --result.",
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    command = "python benchmarks/toy_a2c.py " + " ".join(sys.argv[1:])
    if args.preset != "toy":
        run_hard(args, command)
        return
    args.result = args.result or Path(__file__).parent / "results" / "toy_a2c.json"
    if args.reevaluate:
        steps_run = int(json.loads(args.result.read_text()).get("steps", 0))
        before = evaluate(str(TOY_WEIGHTS / "captioner"), a2c_steps=steps_run)
        reevaluate(
            args.result, before, evaluate(str(TOY_WEIGHTS / "captioner-a2c"), a2c_steps=steps_run), command
        )
        return
    before = evaluate(str(TOY_WEIGHTS / "captioner"))
    print(
        f"SFT: R@1 {before['R@1']:.3f}  ref {before['ref_logprob']:.3f}  grammatical {before['grammatical']:.3f}"
    )
    cfg = load_config("toy", args.config, steps=args.steps)  # recorded as run: steps cap and time limit
    if args.out.exists():
        shutil.rmtree(args.out)
    trainer = A2CTrainer(cfg, args.out)
    t0 = time.time()
    curve = []

    def on_step(m: dict) -> None:
        if "probe_R@1" in m:
            curve.append({"step": m["step"], "minutes": (time.time() - t0) / 60, "probe_R@1": m["probe_R@1"]})
            print(
                f"step {m['step']:4d}  {curve[-1]['minutes']:5.1f} min  probe R@1 {m['probe_R@1']:.3f}  {m['probe_example']}"
            )

    trainer.train(args.steps, on_step=on_step, max_seconds=args.minutes * 60)
    minutes = (time.time() - t0) / 60
    policy = trainer.export_policy(args.out / "policy")
    after = evaluate(str(policy), a2c_steps=trainer.step_index)
    before = evaluate(str(TOY_WEIGHTS / "captioner"), a2c_steps=trainer.step_index)
    print(
        f"A2C: R@1 {after['R@1']:.3f}  ref {after['ref_logprob']:.3f}  grammatical {after['grammatical']:.3f} ({minutes:.1f} min)"
    )
    t2 = after["table2"]
    print(f"A2C, Table 2 decoding: R@1 {t2['R@1']:.3f}  grammatical {t2['grammatical']:.3f}")
    result = {
        "command": command,
        "config": cfg.to_dict(),
        "max_minutes": args.minutes,
        "train_minutes": minutes,
        "steps": trainer.step_index,
        "curve": curve,
        **summary(before, after),
    }
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    if args.ship:
        target = TOY_WEIGHTS / "captioner-a2c"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(policy, target)
        print(f"shipped {target}")


if __name__ == "__main__":
    main()

"""The micro-VLRM result: A2C with the ``toy`` preset from the toy SFT captioner, on 2 CPU cores.

Measures, on 1,000 held-out scenes (seed 5000), beam captions of the SFT captioner and of the A2C
policy with the ``toy`` benchmark's decoding (VLRM Table 2 without the bigram block, which the toy
language cannot satisfy; the ``table2`` entries repeat the measures with it): toy-CLIP R@1, mean
toy-OPT log-prob (grammar), the share of grammatical captions, bad-phrase and repeat rates. Records R@1 on a 200-scene probe against wall
time during training. Writes benchmarks/results/toy_a2c.json; ``--ship`` copies the policy to the
package as the ``toy-a2c`` model.

Run: python benchmarks/toy_a2c.py [--minutes 30] [--ship]
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
    from rewardkit.functional import bad_phrase_flags, repeat_flags, word_pieces
    from rewardkit.functional.penalties import load_word_list
    from rewardkit.registry import TOY_WEIGHTS
    from rewardkit.toy import scenes as sc
    from rewardkit.toy.quality import _clip, toy_clip_recall

    scene_list = sc.distinct_scenes(n, seed)
    images = [sc.render(s) for s in scene_list]
    captioner = Blip2Captioner(model_dir, device="cpu", batch_size=100)
    lm = CausalLMBackend(str(TOY_WEIGHTS / "opt"), device="cpu", batch_size=128)
    clip = _clip(None)
    exempt = frozenset(w.lower() for w in load_word_list("toy_repeat_exempt"))  # the toy preset's

    def measures(caps: list[str], keep: list[int] | None = None) -> dict:
        if keep is not None:
            caps = [caps[i] for i in keep]
        n = len(caps)
        recall = toy_clip_recall(caps, images if keep is None else [images[i] for i in keep], clip)
        pieces = [word_pieces(c) for c in caps]
        return {
            "R@1": recall["R@1"],
            "R@5": recall["R@5"],
            "MRR": recall["MRR"],
            "ref_logprob": float(lm.mean_logprob(caps).mean()),
            "grammatical": sum(map(sc.is_grammatical, caps)) / n,
            "bad_rate": sum(any(bad_phrase_flags(p)) for p in pieces) / n,
            "repeat_rate": sum(any(repeat_flags(p, exempt)) for p in pieces) / n,
            "mean_words": sum(len(c.split()) for c in caps) / n,
        }

    from rewardkit.toy.overlap import (
        TRAINING_POOLS,
        a2c_descriptions,
        overlap_report,
        pool_descriptions,
        seen_by,
    )

    pools = {name: pool_descriptions(name) for name in TRAINING_POOLS}
    if a2c_steps:
        pools["a2c"] = a2c_descriptions(a2c_steps)
    keep = [i for i, seen in enumerate(seen_by(scene_list, pools)["any"]) if not seen]
    caps = captioner.caption(images, **get_benchmark("toy").generation)
    table2 = captioner.caption(images)
    return {
        **measures(caps),
        "table2": measures(table2),
        "overlap": overlap_report(scene_list, pools),
        "unseen": {**measures(caps, keep), "n": len(keep), "table2": measures(table2, keep)},
        "captions": caps,
        "captions_table2": table2,
    }


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
    ap.add_argument("--ship", action="store_true", help="Copy the policy into the package as toy-a2c.")
    ap.add_argument("--result", type=Path, default=Path(__file__).parent / "results" / "toy_a2c.json")
    ap.add_argument(
        "--reevaluate",
        action="store_true",
        help="No training: re-measure the SFT and shipped toy-a2c captioners into --result (e.g. after a new toy CLIP).",
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    command = "python benchmarks/toy_a2c.py " + " ".join(sys.argv[1:])
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

"""rewardkit rewards inside TRL's GRPOTrainer, offline on 2 CPU cores.

Part 1 trains the toy world's reference LM (``toy-opt``, an ``OPTForCausalLM`` shipped with
rewardkit) as a *text* policy with GRPO for ``--max-steps`` steps. Its one reward function is the
``toy`` preset's composed reward (toy BLIP-2 ITM + ITC + reference LM - bad phrases - repeats -
no EOS), which scores each completion against the dataset's ``scene`` column. The preset already
holds the VLRM penalties, so none is added beside it (that would count them twice, and a
standalone ``RepeatPenalty`` would also punish the shape words the toy preset exempts). TRL logs
the total as ``rewards/toy/mean`` and every component's batch mean as ``toy/<component>``; the
report checks that each step's logged total is the weighted sum of the logged components, i.e.
that every penalty is counted once. (The policy does not see the image: this part shows the
plumbing and the logging, not a captioner. A BLIP-2 policy under GRPO needs a shim: TRL 1.16's
log-prob code reads ``last_hidden_state`` from the model output, which
``Blip2ForConditionalGeneration`` does not return; rewardkit's own A2C trainer is the supported
way to train BLIP-2.)

Part 2 calls the ``toy`` preset's reward exactly as TRL calls it (an ``image`` column,
conversational completions whose content is a list of parts, ``completion_ids``, TRL's
``trainer_state``/``log_metric``/``log_extra``) and checks that every total equals
``rewardkit score`` on the same rows.

    python examples/trl_grpo.py --max-steps 2 --out runs/trl_grpo
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path


def toy_rows(folder: Path, n: int, seed: int) -> list[dict]:
    """``n`` toy scenes rendered to ``folder`` with their full descriptions."""
    from rewardkit.toy import scenes as sc

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, scene in enumerate(sc.distinct_scenes(n, seed)):
        path = folder / f"{i}.png"
        sc.render(scene).save(path)
        rows.append({"id": f"s{i}", "image": str(path), "description": sc.describe(scene)})
    return rows


def quiet_transformers() -> None:
    """Silence what is not the user's business here: notices meant for library authors, progress bars."""
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # generation-config and weight-tying notices of the toy checkpoints
    hf_logging.disable_progress_bar()  # "Loading weights" bars of the tiny toy checkpoints
    logging.getLogger("trl").setLevel(logging.ERROR)
    # TRL 1.16 calls transformers' gradient_checkpointing* helpers, deprecated in transformers 5.
    warnings.filterwarnings("ignore", message=r".*checkpointing.* is deprecated", category=FutureWarning)


def reward_funcs(tokenizer) -> list:
    """The reward functions for GRPOTrainer: the ``toy`` preset alone, its penalties included (once)."""
    from rewardkit.rewards import from_preset

    # tokenizer=: the no-EOS penalty reads ended_with_eos from TRL's completion_ids.
    return [from_preset("toy", name="toy", tokenizer=tokenizer, image_column="scene", device="cpu")]


def train_grpo(work: Path, max_steps: int, seed: int) -> dict:
    """Part 1: GRPO on toy-opt with the toy preset's reward; returns TRL's logged history and the weights."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rewardkit.registry import MODELS

    checkpoint = MODELS.get("toy-opt").checkpoint
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    rows = toy_rows(work / "images", 16, seed)
    # A text policy: the images go in a column TRL does not treat as the policy's own input.
    dataset = Dataset.from_list([{"prompt": "a", "scene": r["image"]} for r in rows])
    funcs = reward_funcs(tokenizer)
    config = GRPOConfig(
        output_dir=str(work / "grpo"),
        max_steps=max_steps,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=24,
        learning_rate=1e-4,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    return {"log_history": trainer.state.log_history, "weights": funcs[0].weights}


def penalties_counted_once(steps: list[dict], weights: dict[str, float]) -> dict:
    """Each step's logged reward against the weighted sum of the logged components (penalties included once)."""
    funcs = sorted({k for h in steps for k in h if k.startswith("rewards/") and k.endswith("/mean")})
    gaps = []
    for h in steps:
        recomputed = sum(w * h[f"toy/{name}"] for name, w in weights.items())
        gaps.append(abs(h["reward"] - recomputed))
    return {
        "reward_functions": funcs,
        "weights": weights,
        "max_abs_gap_reward_vs_weighted_components": max(gaps),
        "counted_once": funcs == ["rewards/toy/mean"]
        and max(gaps) <= 1e-3 * max(1.0, *map(abs, [h["reward"] for h in steps])),
    }


def check_against_score(work: Path, seed: int) -> dict:
    """Part 2: the toy reward called as TRL calls it equals ``rewardkit score`` on the same rows."""
    from transformers import AutoTokenizer

    from rewardkit.registry import MODELS
    from rewardkit.rewards import from_preset

    tokenizer = AutoTokenizer.from_pretrained(MODELS.get("toy-opt").checkpoint)
    rows = toy_rows(work / "check_images", 8, seed + 1)
    rng = random.Random(seed)
    captions, completion_ids, ended = [], [], []
    for r in rows:
        words = r["description"].split()
        text = " ".join(words[: rng.randint(2, len(words))])  # some whole, some cut short
        if rng.random() < 0.4:  # what a reward-hacking policy writes: the penalties must fire, once
            text = (
                rng.choice(["an image of ", "a screenshot of "]) + text + rng.choice(["", " picture picture"])
            )
        stopped = rng.random() < 0.6
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        completion_ids.append(ids + [tokenizer.eos_token_id] if stopped else ids)
        captions.append(text)
        ended.append(stopped)
    completions = [[{"role": "assistant", "content": [{"type": "text", "text": c}]}] for c in captions]
    logged: dict[str, float] = {}
    reward = from_preset("toy", name="toy", tokenizer=tokenizer, device="cpu")
    trl_totals = reward(
        prompts=[[{"role": "user", "content": "Describe the image."}]] * len(rows),
        completions=completions,
        completion_ids=completion_ids,
        image=[r["image"] for r in rows],
        id=[r["id"] for r in rows],
        trainer_state=None,
        log_metric=lambda name, value: logged.__setitem__(name, value),
        log_extra=lambda column, values: None,
    )
    # What GRPOTrainer sums (reward_weights default to 1 each) over part 1's reward functions.
    grpo_sum = [0.0] * len(rows)
    for func in reward_funcs(tokenizer):
        values = func(
            prompts=[""] * len(rows),
            completions=captions,
            completion_ids=completion_ids,
            scene=[r["image"] for r in rows],
            log_metric=lambda name, value: None,
        )
        grpo_sum = [a + b for a, b in zip(grpo_sum, values)]
    captions_file = work / "check.jsonl"
    with open(captions_file, "w", encoding="utf-8") as fh:
        for r, c, e in zip(rows, captions, ended):
            fh.write(
                json.dumps({"id": r["id"], "image": r["image"], "caption": c, "ended_with_eos": e}) + "\n"
            )
    out = work / "check.scores.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardkit",
            "score",
            str(captions_file),
            "--preset",
            "toy",
            "-o",
            str(out),
            "--allow-outside-root",
            "--device",
            "cpu",
            "-q",
        ],
        check=True,
    )
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    diffs = [abs(a - b["total"]) for a, b in zip(trl_totals, scored)]
    grpo_diffs = [abs(a - b["total"]) for a, b in zip(grpo_sum, scored)]
    return {
        "n": len(rows),
        "max_abs_difference": max(diffs),
        "equal": len(scored) == len(rows) and max(diffs) <= 1e-4,
        "grpo_reward_functions_vs_score_max_abs_difference": max(grpo_diffs),
        "grpo_sum_equal": max(grpo_diffs) <= 1e-4,
        "penalty_counts": {k: [b[k] for b in scored] for k in ("bad", "repeat", "noeos")},
        "noeos_values": [b["noeos"] for b in scored],
        "logged_components": logged,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Work folder (default: a temporary one).")
    parser.add_argument("--skip-train", action="store_true", help="Only part 2.")
    parser.add_argument("--report", type=Path, default=None, help="Also write the report JSON here.")
    args = parser.parse_args(argv)
    quiet_transformers()
    with tempfile.TemporaryDirectory() as tmp:
        # Absolute: the captions file written below names its images, and `rewardkit score`
        # reads image paths relative to that file's folder.
        work = (args.out or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        report: dict = {}
        if not args.skip_train:
            trained = train_grpo(work, args.max_steps, args.seed)
            steps = [h for h in trained["log_history"] if "reward" in h]
            report["grpo_steps"] = len(steps)
            report["grpo_logged"] = sorted(
                {k for h in steps for k in h if k.startswith(("rewards/", "toy/"))}
            )
            report["grpo_reward"] = [h["reward"] for h in steps]
            report["grpo_components"] = [{k: h[k] for k in sorted(h) if k.startswith("toy/")} for h in steps]
            report["penalties"] = penalties_counted_once(steps, trained["weights"])
            if not all(math.isfinite(x) for x in report["grpo_reward"]):
                raise SystemExit("a GRPO step logged a non-finite reward")
        report["trl_call_vs_score"] = check_against_score(work, args.seed)
        print(json.dumps(report, indent=2))
        if args.report:
            args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        check = report["trl_call_vs_score"]
        ok = (
            check["equal"]
            and check["grpo_sum_equal"]
            and report.get("penalties", {}).get("counted_once", True)
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""rewardkit rewards inside TRL's GRPOTrainer, offline on 2 CPU cores.

Part 1 trains the toy world's reference LM (``toy-opt``, an ``OPTForCausalLM`` shipped with
rewardkit) as a *text* policy with GRPO for ``--max-steps`` steps. Its reward functions are
rewardkit's VLRM penalties and the ``toy`` preset's composed reward (toy BLIP-2 ITM + ITC +
reference LM - penalties), which scores each completion against the dataset's ``scene`` column.
(The policy does not see the image: this part shows the plumbing and the logging, not a
captioner. A BLIP-2 policy under GRPO needs a shim: TRL 1.16's log-prob code reads
``last_hidden_state`` from the model output, which ``Blip2ForConditionalGeneration`` does not
return; rewardkit's own A2C trainer is the supported way to train BLIP-2.)

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


def train_grpo(work: Path, max_steps: int, seed: int) -> dict:
    """Part 1: GRPO on toy-opt with rewardkit reward functions; returns TRL's logged history."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rewardkit.registry import MODELS
    from rewardkit.rewards import BadPhrasePenalty, NoEOSPenalty, RepeatPenalty, from_preset

    checkpoint = MODELS.get("toy-opt").checkpoint
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    rows = toy_rows(work / "images", 16, seed)
    # A text policy: the images go in a column TRL does not treat as the policy's own input.
    dataset = Dataset.from_list([{"prompt": "a", "scene": r["image"]} for r in rows])
    reward_funcs = [
        BadPhrasePenalty(),
        RepeatPenalty(),
        NoEOSPenalty(tokenizer=tokenizer),  # reads ended_with_eos from TRL's completion_ids
        from_preset("toy", name="toy", tokenizer=tokenizer, image_column="scene", device="cpu"),
    ]
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
        reward_weights=[-1.0, -1.0, -1.0, 1.0],
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    return {"log_history": trainer.state.log_history}


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
    return {
        "n": len(rows),
        "max_abs_difference": max(diffs),
        "equal": len(scored) == len(rows) and max(diffs) <= 1e-4,
        "noeos_values": [b["noeos"] for b in scored],
        "logged_components": sorted(logged),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Work folder (default: a temporary one).")
    parser.add_argument("--skip-train", action="store_true", help="Only part 2.")
    parser.add_argument("--report", type=Path, default=None, help="Also write the report JSON here.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        report: dict = {}
        if not args.skip_train:
            history = train_grpo(work, args.max_steps, args.seed)["log_history"]
            steps = [h for h in history if "reward" in h]
            report["grpo_steps"] = len(steps)
            report["grpo_logged"] = sorted(
                {k for h in steps for k in h if k.startswith(("rewards/", "toy/"))}
            )
            report["grpo_reward"] = [h["reward"] for h in steps]
            if not all(math.isfinite(x) for x in report["grpo_reward"]):
                raise SystemExit("a GRPO step logged a non-finite reward")
        report["trl_call_vs_score"] = check_against_score(work, args.seed)
        print(json.dumps(report, indent=2))
        if args.report:
            args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        return 0 if report["trl_call_vs_score"]["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())

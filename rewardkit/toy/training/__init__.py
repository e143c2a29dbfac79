"""Training of the toy models, one module per model; every function takes the tier (:class:`~rewardkit.registry.ToyTier`).

- :mod:`.common`: sizes, tokenizers, seeded scene pools, the learning-rate schedule, attribute
  targets, the BLIP-2/OPT configs and the hard tier's budgets;
- :mod:`.state`: :class:`~.state.TrainState`, checkpoint and exact resume of a long run;
- :mod:`.clip`: toy CLIP (open_clip) with scene probes and optional hard negatives;
- :mod:`.itm`: toy BLIP-2 ITM: vision pretraining, then stage 1 (ITC + ITM);
- :mod:`.captioner`: toy OPT and the toy BLIP-2 captioner (stage 2, then SFT).

Every model is a standard architecture saved in the format its public loader reads, so
rewardkit loads it exactly like a real checkpoint.
"""

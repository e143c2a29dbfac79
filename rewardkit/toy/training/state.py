"""Resumable state of a long toy-model training run (:class:`TrainState`)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import torch

from rewardkit.toy.training.common import Log


class TrainState:
    """Resumable state of one long training run: modules, optimiser, step and RNG states in one file.

    ``TrainState(folder, spec, modules, opt, rng)``: :meth:`resume` returns the step to start
    from (0 without a saved state) after restoring everything; :meth:`tick` saves at most every
    ``every_s`` seconds and always on the last step, atomically (a kill at any instant leaves the
    previous state). A state saved by a run with another ``spec`` (budget, seed, learning rate)
    is refused. Resumed training equals uninterrupted training bit for bit (``tests/toy``).
    """

    FILE = "train_state.pt"

    def __init__(
        self,
        folder: Path | None,
        spec: dict[str, Any],
        modules: dict[str, torch.nn.Module],
        opt: torch.optim.Optimizer,
        rng: random.Random,
        *,
        every_s: float = 120.0,
        log: Log = print,
    ) -> None:
        self.path = None if folder is None else Path(folder) / self.FILE
        self.spec = json.loads(json.dumps(spec))
        self.modules, self.opt, self.rng = modules, opt, rng
        self.every_s, self.log = every_s, log
        self._saved = time.monotonic()

    def resume(self) -> int:
        """Restore a saved state (if any); the first step still to run."""
        if self.path is None or not self.path.exists():
            return 0
        from rewardkit.errors import RewardkitError

        st = torch.load(self.path, weights_only=True, map_location="cpu")
        if st["spec"] != self.spec:
            diff = sorted(k for k in {*st["spec"], *self.spec} if st["spec"].get(k) != self.spec.get(k))
            raise RewardkitError(
                f"{self.path}: saved by a run with other settings ({', '.join(diff)}); "
                "use another --checkpoint folder or the same settings"
            )
        for name, module in self.modules.items():
            module.load_state_dict(st["modules"][name])
        self.opt.load_state_dict(st["optimizer"])
        torch.set_rng_state(st["torch_rng"])
        version, internal, gauss = st["python_rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.log(f"resumed from {self.path} at step {st['step']}")
        return int(st["step"])

    def tick(self, next_step: int, total: int) -> None:
        """Save when ``every_s`` has passed or the run is complete (``next_step == total``)."""
        if self.path is None or (next_step < total and time.monotonic() - self._saved < self.every_s):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(
            {
                "spec": self.spec,
                "step": next_step,
                "modules": {k: m.state_dict() for k, m in self.modules.items()},
                "optimizer": self.opt.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "python_rng": self.rng.getstate(),
            },
            tmp,
        )
        tmp.replace(self.path)
        self._saved = time.monotonic()

"""Runs the stages of a training run in order, with a resumable checkpoint after each stage and every
--ckpt-every seconds within one; a stage that fails is logged and the others still run."""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List

import torch
import torch.nn as nn


class StageRunner:
    def __init__(self, models: Dict[str, nn.Module], ckpt_path: Path, log, stages: List[str], ckpt_every: float):
        self.models, self.ckpt_path, self.log, self.stages, self.ckpt_every = models, ckpt_path, log, stages, ckpt_every
        # done: finished stages; stage_state: the resumable state of the stage in progress; stats: per stage.
        self.state = {"done": [], "stage_state": {}, "stats": {}}
        self.last_checkpoint = time.perf_counter()

    def resume(self, device: torch.device) -> None:
        """Loads the models and the run's state from the checkpoint, if there is one."""
        if not self.ckpt_path.exists():
            return
        ck = torch.load(self.ckpt_path, map_location=device)
        for k, sd in ck["models"].items():
            self.models[k].load_state_dict(sd)
        self.state = ck["state"]
        self.log(event="resume", done=self.state["done"], current=list(self.state["stage_state"]))

    def checkpoint(self, stage: str | None = None, stage_state: dict | None = None) -> None:
        if stage is not None:
            self.state["stage_state"] = {stage: stage_state}
        models = {k: m.state_dict() for k, m in self.models.items()}
        torch.save(dict(models=models, state=self.state), self.ckpt_path)
        self.last_checkpoint = time.perf_counter()

    def maybe_checkpoint(self, stage: str, make_state: Callable[[], dict]) -> None:
        if time.perf_counter() - self.last_checkpoint >= self.ckpt_every:
            self.checkpoint(stage, make_state())

    def run(self, name: str, fn: Callable[[dict], dict]) -> None:
        """Runs stage `name` (fn gets its resumed state, returns its stats) unless it is not asked for or done."""
        if name not in self.stages or name in self.state["done"]:
            return
        try:
            stats = fn(self.state["stage_state"].get(name, {}))
        except Exception as exc:  # keep what the other stages produce; the log says what broke
            self.log(event="stage_failed", stage=name, error=repr(exc), traceback=traceback.format_exc())
            self.state["stats"][name] = dict(failed=repr(exc))
            return
        self.state["stats"][name] = stats
        self.state["done"].append(name)
        self.state["stage_state"] = {}
        self.checkpoint()
        self.log(event="stage_done", stage=name, **stats)

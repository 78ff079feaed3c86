"""Runs the stages of a training run in order, with a resumable checkpoint after each stage and every
--ckpt-every seconds within one; a stage that fails is logged and the others still run."""
from __future__ import annotations

import time
import traceback

from pipeline.train.common import atomic_write
from pathlib import Path
from typing import Callable, Dict, List

import torch
import torch.nn as nn


class StopRun(Exception):
    """--stop-after reached: the checkpoint is written and the run ends here (a later --resume continues)."""


class StageRunner:
    def __init__(
        self,
        models: Dict[str, nn.Module],
        ckpt_path: Path,
        log,
        stages: List[str],
        ckpt_every: float,
        writer: bool = True,
        stop_after: str | None = None,
    ):
        """writer: this process writes checkpoints (rank 0 of several). stop_after: "STAGE" or "STAGE:STEPS"."""
        self.models, self.ckpt_path, self.log, self.stages, self.ckpt_every = models, ckpt_path, log, stages, ckpt_every
        self.writer = writer
        stage, _, steps = (stop_after or "").partition(":")
        self.stop_stage, self.stop_steps = stage or None, int(steps) if steps else None
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
        if self.writer:
            models = {k: m.state_dict() for k, m in self.models.items()}
            atomic_write(self.ckpt_path, lambda f: torch.save(dict(models=models, state=self.state), f))
        self.last_checkpoint = time.perf_counter()

    def maybe_checkpoint(self, stage: str, make_state: Callable[[], dict]) -> None:
        """After each step of a stage: a checkpoint every --ckpt-every seconds (rank 0's clock decides nothing
        here: only rank 0 writes), and the stop of --stop-after STAGE:STEPS."""
        if stage == self.stop_stage and self.stop_steps is not None:
            state = make_state()
            if state["step"] >= self.stop_steps:
                self.checkpoint(stage, state)
                raise StopRun(f"{stage}:{state['step']}")
        if time.perf_counter() - self.last_checkpoint >= self.ckpt_every:
            self.checkpoint(stage, make_state())

    def run(self, name: str, fn: Callable[[dict], dict]) -> None:
        """Runs stage `name` (fn gets its resumed state, returns its stats) unless it is not asked for or done."""
        if name not in self.stages or name in self.state["done"]:
            return
        try:
            stats = fn(self.state["stage_state"].get(name, {}))
        except StopRun:
            raise
        except Exception as exc:  # keep what the other stages produce; the log says what broke
            self.log(event="stage_failed", stage=name, error=repr(exc), traceback=traceback.format_exc())
            self.state["stats"][name] = dict(failed=repr(exc))
            return
        self.state["stats"][name] = stats
        self.state["done"].append(name)
        self.state["stage_state"] = {}
        self.checkpoint()
        self.log(event="stage_done", stage=name, **stats)
        if name == self.stop_stage and self.stop_steps is None:
            raise StopRun(name)

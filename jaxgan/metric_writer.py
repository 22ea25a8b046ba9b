"""Scalars to TensorBoard event files and to `metrics.jsonl` (one JSON object per line)."""

import json
import os

from tensorboardX import SummaryWriter


class MetricWriter:
  """Writes `{name: float}` per step to `workdir/metrics.jsonl` and TensorBoard events."""

  def __init__(self, workdir: str):
    os.makedirs(workdir, exist_ok=True)
    self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a", encoding="utf-8")
    self._tensorboard = SummaryWriter(logdir=workdir)

  def write(self, step: int, scalars: dict[str, float]) -> None:
    self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self._jsonl.flush()
    for name, value in scalars.items():
      self._tensorboard.add_scalar(name, value, step)
    self._tensorboard.flush()

  def close(self) -> None:
    self._jsonl.close()
    self._tensorboard.close()

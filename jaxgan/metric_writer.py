"""Scalars to TensorBoard event files and to `metrics.jsonl` (one JSON object per line)."""

import json
import os

from tensorboardX import SummaryWriter


class MetricWriter:
  """Writes `{name: float}` per step to `workdir/metrics.jsonl` and TensorBoard events.

  Rows after `start_step` (logged by a run that died before its next checkpoint)
  are dropped, so a resumed run's file has each step once.
  """

  def __init__(self, workdir: str, start_step: int = 0):
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        kept = [line for line in f if line.strip() and json.loads(line)["step"] <= start_step]
      with open(path, "w", encoding="utf-8") as f:
        f.writelines(kept)
    self._jsonl = open(path, "a", encoding="utf-8")
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

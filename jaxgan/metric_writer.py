"""Scalars and pictures to TensorBoard event files, scalars to `metrics.jsonl`."""

import glob
import json
import os
import struct

import numpy as np
from tensorboardX import SummaryWriter
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.record_writer import RecordWriter


def read_events(path: str) -> list[Event]:
  """The events of a TensorBoard event file (TFRecord framing: length, its CRC, data, CRC)."""
  events = []
  with open(path, "rb") as f:
    while header := f.read(12):
      if len(header) < 12:
        break  # A record cut short by a kill: TensorBoard skips it too.
      (length,) = struct.unpack("<Q", header[:8])
      data = f.read(length + 4)[:length]
      if len(data) < length:
        break
      events.append(Event.FromString(data))
  return events


def drop_events_after(workdir: str, step: int) -> set[int]:
  """Rewrites the event files in `workdir`, keeping only events up to `step`, so that a
  run resumed from the checkpoint at `step` logs every later step once. Returns the steps
  whose scalars remain."""
  with_scalars = set()
  for path in glob.glob(os.path.join(workdir, "events.out.tfevents.*")):
    events = read_events(path)
    kept = [e for e in events if e.step <= step]
    with_scalars |= {e.step for e in kept
                     if any(v.HasField("simple_value") for v in e.summary.value)}
    if len(kept) == len(events):
      continue
    if not any(e.HasField("summary") for e in kept):
      os.remove(path)
      continue
    writer = RecordWriter(path + ".tmp")
    for event in kept:
      writer.write(event.SerializeToString())
    writer.close()
    os.replace(path + ".tmp", path)
  return with_scalars


def _read_rows(path: str) -> list[dict]:
  """The rows of a `metrics.jsonl`, without a last line cut short by a kill."""
  if not os.path.exists(path):
    return []
  rows = []
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        break
  return rows


class MetricWriter:
  """Writes `{name: float}` per step to `workdir/metrics.jsonl` and TensorBoard events, and
  uint8 pictures `[h, w, c]` to TensorBoard.

  Rows and events after `start_step` (logged by a run that died before its next
  checkpoint) are dropped, so a resumed run logs each step once. Scalars that reached
  `metrics.jsonl` but not TensorBoard (its writer queues events, so a kill -9 can lose
  the last ones) are written to TensorBoard again. The event file is opened at the first
  write: a run that writes nothing leaves none.
  """

  def __init__(self, workdir: str, start_step: int = 0):
    os.makedirs(workdir, exist_ok=True)
    self._workdir = workdir
    self._start_step = start_step
    path = os.path.join(workdir, "metrics.jsonl")
    kept = [row for row in _read_rows(path) if row["step"] <= start_step]
    with open(path, "w", encoding="utf-8") as f:
      f.writelines(json.dumps(row) + "\n" for row in kept)
    with_scalars = drop_events_after(workdir, start_step)
    self._jsonl = open(path, "a", encoding="utf-8")
    self._tensorboard = None
    for row in kept:
      if row["step"] not in with_scalars:
        self._write_events(row["step"], {k: v for k, v in row.items() if k != "step"})

  def _events(self) -> SummaryWriter:
    if self._tensorboard is None:
      # The suffix keeps a resumed run's file apart from one opened in the same second.
      self._tensorboard = SummaryWriter(logdir=self._workdir,
                                        filename_suffix=f".from_step_{self._start_step}")
    return self._tensorboard

  def write(self, step: int, scalars: dict[str, float]) -> None:
    self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self._jsonl.flush()
    self._write_events(step, scalars)

  def _write_events(self, step: int, scalars: dict[str, float]) -> None:
    for name, value in scalars.items():
      self._events().add_scalar(name, value, step)
    self._events().flush()

  def write_picture(self, step: int, name: str, picture: np.ndarray) -> None:
    self._events().add_image(name, picture, step, dataformats="HWC")
    self._events().flush()

  def close(self) -> None:
    self._jsonl.close()
    if self._tensorboard is not None:
      self._tensorboard.close()


class NoWriter:
  """A MetricWriter that writes nothing: the writer of every process but the first."""

  def write(self, step: int, scalars: dict[str, float]) -> None:
    del step, scalars

  def write_picture(self, step: int, name: str, picture: np.ndarray) -> None:
    del step, name, picture

  def close(self) -> None:
    pass

"""metrics.jsonl and TensorBoard events: each step once after a resume, pictures, no empty files."""

import glob
import json
import os

import numpy as np

from jaxgan.metric_writer import MetricWriter, read_events


def _scalar_steps(workdir) -> list[tuple[str, int]]:
  """Every (tag, step) of a scalar in all of the workdir's event files."""
  return sorted((value.tag, event.step)
                for path in glob.glob(os.path.join(workdir, "events.out.tfevents.*"))
                for event in read_events(path) for value in event.summary.value
                if value.HasField("simple_value"))


def test_a_resume_logs_every_step_once_in_jsonl_and_tensorboard(tmp_path):
  writer = MetricWriter(str(tmp_path))
  for step in range(1, 7):  # The run gets to step 6, its last checkpoint was at 4.
    writer.write(step, {"d/loss": float(step)})
  writer.close()
  resumed = MetricWriter(str(tmp_path), start_step=4)
  for step in (5, 6, 7):
    resumed.write(step, {"d/loss": 10.0 * step})
  resumed.close()
  assert _scalar_steps(tmp_path) == [("d/loss", step) for step in range(1, 8)]
  rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert [(row["step"], row["d/loss"]) for row in rows] == [
      (1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 50.0), (6, 60.0), (7, 70.0)]


def test_scalars_a_kill_kept_from_tensorboard_are_written_again(tmp_path):
  """TensorBoard's writer queues events, so a kill -9 can lose the last ones that
  metrics.jsonl has; a resume writes them again. A line cut short is dropped."""
  writer = MetricWriter(str(tmp_path))
  for step in (10, 20, 30):
    writer.write(step, {"d/loss": float(step)})
  writer.close()
  for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
    os.remove(path)  # As if no event had reached the file.
  with open(tmp_path / "metrics.jsonl", "a", encoding="utf-8") as f:
    f.write('{"step": 40, "d/lo')  # A write cut short.
  MetricWriter(str(tmp_path), start_step=30).close()
  assert _scalar_steps(tmp_path) == [("d/loss", 10), ("d/loss", 20), ("d/loss", 30)]
  assert [json.loads(line)["step"] for line in open(tmp_path / "metrics.jsonl")] == [10, 20, 30]


def test_a_writer_that_writes_nothing_leaves_no_event_file(tmp_path):
  MetricWriter(str(tmp_path)).close()
  assert not glob.glob(str(tmp_path / "events.out.tfevents.*"))


def test_pictures_go_to_tensorboard(tmp_path):
  writer = MetricWriter(str(tmp_path))
  picture = np.zeros((10, 12, 3), np.uint8)
  picture[2:5, 3:7] = 255
  writer.write_picture(3, "samples", picture)
  writer.write_picture(4, "samples", picture[..., :1])
  writer.close()
  (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
  images = [(event.step, value.image) for event in read_events(path)
            for value in event.summary.value if value.tag == "samples"]
  assert [(step, image.height, image.width) for step, image in images] == [(3, 10, 12),
                                                                           (4, 10, 12)]

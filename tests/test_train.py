"""train.py end to end, in a subprocess, on tiny settings."""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import jaxgan
from jaxgan import command_line
from jaxgan.metric_writer import read_events

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config.num_train_steps=4", "--config.log_every_steps=2",
        "--config.sample_every_steps=2", "--config.checkpoint_every_steps=2",
        "--config.batch_size=8", "--config.latent_dim=8", "--config.generator.features=(16, 8)",
        "--config.discriminator.features=(8, 16)", "--config.num_devices=1",
        "--config.num_samples=4", "--config.eval_every_steps=0"]


def _train(cwd, *flags, data_dir) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), *flags,
                         f"--config.data_dir={data_dir}"],
                        cwd=cwd, capture_output=True, text=True, timeout=300,
                        env={**os.environ, "PYTHONPATH": ROOT})


def test_train_writes_checkpoints_samples_events_and_metrics(tmp_path, data_dir):
  # No --config and no --workdir: the default config into runs/default.
  result = _train(tmp_path, *TINY, data_dir=data_dir)
  assert result.returncode == 0, result.stderr
  workdir = tmp_path / "runs" / "default"
  assert re.search(r"step 2/4 \|.* \| \d+m\d\ds left\n", result.stderr), result.stderr
  assert "step 4/4" in result.stderr and str(workdir) in result.stderr
  assert re.search(r"Outputs in .*: checkpoints/, samples/, metrics.jsonl, metrics.png, "
                   r"TensorBoard events \(tensorboard --logdir ", result.stderr)
  assert sorted(os.listdir(workdir / "checkpoints")) == ["2", "4"]
  assert not (workdir / "lock").exists()  # Taken while training, removed after.
  assert "libtpu" not in result.stderr and " I1" not in result.stderr  # No JAX start-up logs.
  samples = sorted(glob.glob(str(workdir / "samples" / "*.png")))
  assert [os.path.basename(s) for s in samples] == [  # The default's EMA generator's too.
      "ema_step_0000002.png", "ema_step_0000004.png", "step_0000002.png", "step_0000004.png"]
  grid = np.asarray(Image.open(samples[-1]))
  assert grid.shape == (2 * 65 + 1, 2 * 65 + 1) and grid.std() > 0  # 16 px shown at 64.
  (events,) = glob.glob(str(workdir / "events.out.tfevents.*"))
  pictures = [event.step for event in read_events(events) for value in event.summary.value
              if value.tag == "samples" and value.HasField("image")]
  assert pictures == [2, 4]
  rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  assert [row["step"] for row in rows] == [2, 4]
  assert all(np.isfinite(row["d/loss"]) and np.isfinite(row["g/loss"]) for row in rows)


def test_the_ring_config_trains_packed_with_ema_and_evaluates_at_the_last_step(tmp_path,
                                                                               data_dir):
  result = _train(tmp_path, "--config", os.path.join(ROOT, "configs", "gaussians.py"),
                  "--workdir", str(tmp_path / "ring"), "--config.num_train_steps=2",
                  "--config.seed=3", "--config.log_every_steps=1", "--config.num_devices=1",
                  data_dir=data_dir)
  assert result.returncode == 0, result.stderr
  assert sorted(os.listdir(tmp_path / "ring" / "samples")) == [  # G's and its EMA's.
      "ema_step_0000002.png", "step_0000002.png"]
  picture = np.asarray(Image.open(tmp_path / "ring" / "samples" / "ema_step_0000002.png"))
  assert picture.ndim == 3 and picture.shape[2] == 3  # Points over axes and mode markers.
  assert "eval at step 2 on 2500 samples | modes " in result.stderr
  last = [json.loads(line) for line in open(tmp_path / "ring" / "metrics.jsonl")][-1]
  assert last["step"] == 2 and {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= set(last)
  points = jaxgan.load(str(tmp_path / "ring")).sample(50)  # Without the task.
  assert points.shape == (50, 2) and points.dtype == np.float32
  config = command_line.load_config_file(os.path.join(ROOT, "configs", "gaussians.py"))
  assert (config.packing, config.g_ema_decay, config.num_train_steps) == (4, 0.999, 100_000)
  assert config.g_optimizer.decay == config.d_optimizer.decay == "cosine"


def test_a_bad_setting_exits_with_one_clear_line(tmp_path, data_dir):
  """Errors a config raises in training, as train.py shows them; tests/test_reliability.py
  has the errors themselves."""
  result = _train(tmp_path, *TINY, "--config.loss=wgan", data_dir=data_dir)
  assert result.returncode == 1, result.stderr
  assert "Config error: Unknown loss 'wgan'. Known: hinge, least_squares" in result.stderr


def test_a_problem_in_the_data_files_is_a_data_error(tmp_path, data_dir):
  (tmp_path / "words.txt").write_bytes(b"fine\ncaf\xe9\n")
  result = _train(tmp_path, "--config", os.path.join(ROOT, "configs", "words_english.py"),
                  "--config.dataset=words.txt", data_dir=data_dir)
  assert result.returncode == 1, result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      "Data error: words.txt, line 2: not UTF-8"), result.stderr
  assert "Traceback" not in result.stderr and not os.path.exists(tmp_path / "runs")

"""No work is lost: kill -9, SIGTERM/SIGINT, damaged checkpoints, NaNs, bad configs, two
trainers on one workdir. Real processes, real files."""

import os
import re
import signal
import subprocess
import sys
import time
import types

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxgan import trainer
from jaxgan.errors import ConfigError
from jaxgan.metric_writer import read_events

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 200
SMALL = ["--config.log_every_steps=10", "--config.sample_every_steps=1000",
         "--config.checkpoint_every_steps=20", "--config.max_checkpoints_to_keep=2",
         "--config.batch_size=8", "--config.latent_dim=8", "--config.generator.features=(16, 8)",
         "--config.discriminator.features=(8, 16)", "--config.num_samples=4",
         "--config.eval_every_steps=0"]


def _command(workdir, data_dir, *flags, config="default.py") -> list[str]:
  return [sys.executable, os.path.join(ROOT, "train.py"),
          f"--config={os.path.join(ROOT, 'configs', config)}", f"--workdir={workdir}",
          f"--config.data_dir={data_dir}", f"--config.num_train_steps={STEPS}", *SMALL, *flags]


def _train(workdir, data_dir, *flags, **config) -> subprocess.CompletedProcess:
  return subprocess.run(_command(workdir, data_dir, *flags, **config), capture_output=True,
                        text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})


def _start(workdir, data_dir, *flags, **config) -> subprocess.Popen:
  return subprocess.Popen(_command(workdir, data_dir, *flags, **config), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT})


def _wait_for_checkpoint(workdir, process, at_least: int) -> None:
  deadline = time.time() + 120
  while time.time() < deadline:
    steps = [int(n) for n in _listdir(os.path.join(workdir, "checkpoints")) if n.isdigit()]
    if any(s >= at_least for s in steps):
      return
    assert process.poll() is None, process.communicate()
    time.sleep(0.02)
  raise TimeoutError("no checkpoint appeared")


def _listdir(path):
  return os.listdir(path) if os.path.isdir(path) else []


def _final_state(workdir, steps: int = STEPS) -> dict:
  manager = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"))
  assert manager.latest_step() == steps
  return manager.restore(steps)["state"]


def _assert_same(a: dict, b: dict) -> None:
  leaves_a = jax.tree_util.tree_flatten_with_path(a)[0]
  leaves_b = jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for (path, x), y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))


@pytest.fixture(scope="module", params=[1, 4], ids=["jit", "sharded4"])
def uninterrupted(request, data_dir, tmp_path_factory):
  """(devices flag, final state of a run that nothing interrupted)."""
  flag = f"--config.num_devices={request.param}"
  workdir = tmp_path_factory.mktemp("straight")
  result = _train(workdir, data_dir, flag)
  assert result.returncode == 0, result.stderr
  return flag, _final_state(workdir)


def test_kill_9_and_resume_is_bit_exact(uninterrupted, data_dir, tmp_path):
  flag, expected = uninterrupted
  process = _start(tmp_path, data_dir, flag)
  _wait_for_checkpoint(tmp_path, process, 40)
  process.kill()  # SIGKILL: no handler runs, possibly mid-save.
  process.wait()
  assert process.returncode == -signal.SIGKILL
  result = _train(tmp_path, data_dir, flag)
  assert result.returncode == 0, result.stderr
  assert "Resumed from" in result.stderr
  _assert_same(_final_state(tmp_path), expected)
  steps = [row.split(",")[0] for row in open(tmp_path / "metrics.jsonl")]
  assert len(steps) == len(set(steps)) == STEPS // 10  # Each logged step once.
  tensorboard_steps = sorted(event.step for path in tmp_path.glob("events.out.tfevents.*")
                             for event in read_events(str(path)) for value in event.summary.value
                             if value.tag == "d/loss")
  assert tensorboard_steps == list(range(10, STEPS + 1, 10))  # Also in TensorBoard.


def test_signal_saves_a_checkpoint_and_resume_is_bit_exact(uninterrupted, data_dir, tmp_path):
  flag, expected = uninterrupted
  # Both signals share one handler: SIGINT on one device, SIGTERM on four (sharded).
  signum = signal.SIGINT if flag.endswith("=1") else signal.SIGTERM
  process = _start(tmp_path, data_dir, flag)
  _wait_for_checkpoint(tmp_path, process, 20)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 0, stderr
  assert f"Stopped by {signal.Signals(signum).name} at step" in stderr
  stopped_at = int(stderr.split(" at step ")[1].split()[0])
  assert str(stopped_at) in os.listdir(tmp_path / "checkpoints")
  result = _train(tmp_path, data_dir, flag)
  assert result.returncode == 0 and "Resumed from" in result.stderr, result.stderr
  assert f"at step {stopped_at}." in result.stderr
  _assert_same(_final_state(tmp_path), expected)


@pytest.mark.parametrize("uninterrupted", [1], indirect=True)  # Files, not devices: jit.
def test_damaged_latest_checkpoint_falls_back_to_the_one_before(uninterrupted, data_dir,
                                                                tmp_path):
  flag, expected = uninterrupted
  process = _start(tmp_path, data_dir, flag)
  _wait_for_checkpoint(tmp_path, process, 60)
  process.kill()
  process.wait()
  checkpoints = tmp_path / "checkpoints"
  steps = sorted(int(n) for n in os.listdir(checkpoints) if n.isdigit())
  newest = steps[-1]
  for root, _, files in os.walk(checkpoints / str(newest) / "state"):
    for name in files:  # Damage every data and metadata file of the newest checkpoint.
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"garbage")
  os.makedirs(checkpoints / f"{newest + 1}.orbax-checkpoint-tmp-1")  # An unfinished save.
  result = _train(tmp_path, data_dir, flag)
  assert result.returncode == 0, result.stderr
  assert f"Checkpoint {checkpoints / str(newest)} cannot be read" in result.stderr
  assert f"at step {steps[-2]}." in result.stderr
  assert os.path.isdir(tmp_path / "damaged_checkpoints" / str(newest))
  _assert_same(_final_state(tmp_path), expected)


def test_kill_9_in_a_fade_in_and_resume_is_bit_exact(data_dir, tmp_path):
  """Progressive growing: phase 2 (16x16) starts at step 60 and fades in until step 120; a
  run killed in the fade-in resumes there, recompiles that phase's step, and ends with the
  parameters of a run that nothing interrupted."""
  steps = 150
  flags = ["--config.growth.phase_steps=60", "--config.growth.fade_steps=60",
           f"--config.num_train_steps={steps}", "--config.checkpoint_every_steps=10"]
  config = {"config": "progressive_digits.py"}
  result = _train(tmp_path / "straight", data_dir, *flags, **config)
  assert result.returncode == 0, result.stderr
  assert "Growth phase 2/2 from step 60: 16x16 images, its new layers fading in until step " \
         "120." in result.stderr
  process = _start(tmp_path / "killed", data_dir, *flags, **config)
  _wait_for_checkpoint(tmp_path / "killed", process, 70)
  process.kill()
  process.wait()
  result = _train(tmp_path / "killed", data_dir, *flags, **config)
  assert result.returncode == 0, result.stderr
  resumed_at = int(result.stderr.split("Resumed from ")[1].split(" at step ")[1].split(".")[0])
  assert 60 < resumed_at < 120, f"resumed at step {resumed_at}, not in the fade-in"
  assert "Growth phase 2/2" in result.stderr
  _assert_same(_final_state(tmp_path / "killed", steps), _final_state(tmp_path / "straight", steps))


@pytest.fixture
def exploding_config(ring_config):
  ring_config.g_optimizer = {"name": "sgd", "learning_rate": 1e20}
  ring_config.d_optimizer = {"name": "sgd", "learning_rate": 1e20}
  ring_config.num_train_steps = 12
  ring_config.checkpoint_every_steps = 1
  ring_config.log_every_steps = 4
  return ring_config


def test_nonfinite_loss_stops_with_the_step_and_saves_no_nan(exploding_config, tmp_path):
  with pytest.raises(FloatingPointError, match=r"Non-finite .*d/loss.* at step (\d+)") as info:
    trainer.train_and_evaluate(exploding_config, str(tmp_path))
  bad_step = int(info.value.args[0].split(" at step ")[1].split(";")[0])
  manager = ocp.CheckpointManager(tmp_path / "checkpoints")
  assert manager.latest_step() == bad_step - 1
  for step in manager.all_steps():
    leaves = jax.tree.leaves(manager.restore(step)["state"])
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves)


def test_step_metrics_hold_at_most_a_chunk_and_name_the_first_bad_step():
  values = np.arange(1.0, 11.0)  # Steps 1..10.
  manager = types.SimpleNamespace(directory="ckpts", latest_step=lambda: 6)
  metrics = trainer.StepMetrics(manager, chunk=3)
  for step, value in enumerate(values[:7], start=1):
    metrics.add(step, {"loss": jax.numpy.asarray(value)})
    assert len(metrics.pending) == step % 3
  assert metrics.means(7) == {"loss": np.mean(values[:7])}
  metrics.add(8, {"loss": jax.numpy.asarray(1.0)})
  metrics.add(9, {"loss": jax.numpy.asarray(np.nan)})
  with pytest.raises(FloatingPointError, match=r"Non-finite loss at step 9; .*ckpts \(step 6\)"):
    metrics.add(10, {"loss": jax.numpy.asarray(1.0)})  # The chunk is full: checked.
  unchecked = trainer.StepMetrics(manager, check_finite=False, chunk=3)
  unchecked.add(1, {"loss": jax.numpy.asarray(np.inf)})
  assert unchecked.means(1) == {"loss": np.inf}


def test_skip_nonfinite_updates_keeps_going_and_counts(exploding_config, tmp_path):
  exploding_config.skip_nonfinite_updates = True
  state = trainer.train_and_evaluate(exploding_config, str(tmp_path))
  assert int(state.step) == 12 and 0 < int(state.skipped_updates) < 12
  assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(state))
  rows = open(tmp_path / "metrics.jsonl").read()
  assert '"skipped"' in rows


def test_incompatible_checkpoint_is_refused_and_left_alone(digits_config, tmp_path):
  trainer.train_and_evaluate(digits_config, str(tmp_path))
  files = {p: p.stat().st_mtime for p in (tmp_path / "checkpoints").rglob("*")}
  digits_config.generator.features = (32, 8)
  digits_config.num_train_steps = 6
  with pytest.raises(ConfigError, match=r"does not fit this config.*generator.features: "
                                        r"\[16, 8\] -> \(32, 8\).*new --workdir"):
    trainer.train_and_evaluate(digits_config, str(tmp_path))
  assert {p: p.stat().st_mtime for p in (tmp_path / "checkpoints").rglob("*")} == files


def test_harmless_changes_resume(digits_config, tmp_path):
  trainer.train_and_evaluate(digits_config, str(tmp_path))
  assert not (tmp_path / "lock").exists()  # A finished run leaves no lock behind.
  digits_config.num_train_steps = 6
  digits_config.log_every_steps = 3
  digits_config.sample_every_steps = 6
  assert int(trainer.train_and_evaluate(digits_config, str(tmp_path)).step) == 6


def test_two_trainers_on_one_workdir(data_dir, tmp_path, digits_config):
  process = _start(tmp_path, data_dir, "--config.num_devices=1")
  try:
    _wait_for_checkpoint(tmp_path, process, 20)
    with pytest.raises(ConfigError, match=f"Another training process \\(pid {process.pid}\\)"):
      trainer.train_and_evaluate(digits_config, str(tmp_path))
  finally:
    process.kill()
    process.wait()
  # The kernel dropped the dead process's lock: training here works again.
  digits_config.g_ema_decay = 0.99  # default.py's EMA generator, so the checkpoint fits.
  digits_config.num_train_steps = STEPS + 2
  digits_config.checkpoint_every_steps = 20
  assert int(trainer.train_and_evaluate(digits_config, str(tmp_path)).step) > 0


@pytest.mark.parametrize("field,value,message", [
    ("dataset", "ring8", "Unknown dataset 'ring8'. Known: sklearn_digits, mnist"),
    ("g_optimizer.learning_rate", -1.0, "learning_rate must be positive"),
    ("num_train_steps", 0, "num_train_steps must be positive"),
    ("g_optimizer.name", "adamm", "Unknown optimizer 'adamm'"),
    ("eval_every_steps", -1, "eval_every_steps must be >= 0"),
    ("loss", "wgan", "Unknown loss 'wgan'. Known: hinge, least_squares, minimax"),
    ("batch_size", 0, "batch_size must be positive"),
    ("dataset", "mnist", "'mnist' is not prepared"),
    ("image_size", 18, "multiples of 4"),
    # Misspelt arguments, named with the fix.
    ("loss_kwargs.real_lable", 0.9, "Loss 'non_saturating' takes no argument 'real_lable'. "
                                    "Did you mean 'real_label'?"),
    ("generator.featurs", (8,), "The dcgan generator takes no argument 'featurs'. Did you "
                                "mean 'features'?"),
    ("d_penalties", ({"name": "r1", "weight": 1.0, "gama": 2},),
     "Penalty 'r1' takes no argument 'gama'"),
    ("loss", "hinj", "Unknown loss 'hinj'. Did you mean 'hinge'?"),
    ("g_optimizer.beta1", 0.5, "optax.adam takes no argument 'beta1'."),
])
def test_bad_config_is_a_clear_error_before_training(digits_config, tmp_path, field, value,
                                                     message):
  """As `--config.<field>=<value>` gives them; train.py turns these errors into one line
  (tests/test_train.py). A failed run leaves no folder behind."""
  digits_config.update_from_flattened_dict({field: value})
  with pytest.raises(ConfigError, match=re.escape(message)):
    trainer.train_and_evaluate(digits_config, str(tmp_path / "run"))
  assert not os.path.exists(tmp_path / "run")

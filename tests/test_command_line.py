"""train.py's command line: keyword arguments of losses, penalties and models, misspelt
fields, missing config files, finished runs, and what a failed run leaves behind."""

import glob
import json
import os
import subprocess
import sys

import orbax.checkpoint as ocp
import pytest

from jaxgan import command_line
from jaxgan.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config.num_train_steps=2", "--config.log_every_steps=1", "--config.batch_size=8",
        "--config.latent_dim=8", "--config.generator.features=(16, 8)",
        "--config.discriminator.features=(8, 16)", "--config.num_devices=1",
        "--config.num_samples=4", "--config.eval_every_steps=0"]
USER_LOSS = '''
import jax, jax.numpy as jnp
from jaxgan.losses import GANLoss

def hinge(*, margin: float = 1.0) -> GANLoss:
  open("margin.txt", "w").write(repr(margin))
  return GANLoss(discriminator=lambda r, f: (jnp.mean(jax.nn.relu(margin - r))
                                             + jnp.mean(jax.nn.relu(margin + f))),
                 generator=lambda f: -jnp.mean(f))
'''


def _train(cwd, *flags, data_dir) -> subprocess.CompletedProcess:
  """train.py run from `cwd`, as a user would: nothing on PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  return subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), *flags,
                         f"--config.data_dir={data_dir}"],
                        cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _saved_config(workdir) -> dict:
  manager = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"))
  return manager.restore(manager.latest_step())["config"]


@pytest.mark.slow
def test_loss_penalty_and_model_arguments_from_the_command_line(tmp_path, data_dir):
  (tmp_path / "mylosses.py").write_text(USER_LOSS)
  result = _train(tmp_path, *TINY, "--config.loss=mylosses:hinge",
                  "--config.loss_kwargs.margin=2.5", "--config.generator.use_bias=True",
                  "--config.d_penalties=({'name': 'gradient_penalty', 'weight': 1.0, "
                  "'target': 0.5},)", "--workdir=run", data_dir=data_dir)
  assert result.returncode == 0, result.stderr
  assert (tmp_path / "margin.txt").read_text() == "2.5"  # Reached the factory from the cwd.
  config = _saved_config(tmp_path / "run")
  assert config["loss_kwargs"] == {"margin": 2.5} and config["generator"]["use_bias"] is True
  assert config["d_penalties"] == [{"name": "gradient_penalty", "weight": 1.0, "target": 0.5}]
  rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
  assert "d/gradient_penalty" in rows[-1]


@pytest.mark.slow
def test_built_in_loss_and_optimizer_arguments_from_the_command_line(tmp_path, data_dir):
  result = _train(tmp_path, *TINY, "--config.loss_kwargs.real_label=0.9",
                  "--config.d_optimizer.eps_root=1e-8", data_dir=data_dir)
  assert result.returncode == 0, result.stderr
  config = _saved_config(tmp_path / "runs" / "default")
  assert config["loss_kwargs"] == {"real_label": 0.9}
  assert config["d_optimizer"]["eps_root"] == 1e-8


@pytest.mark.parametrize("flag,message", [
    ("--config.batch_szie=32", "--config.batch_szie=32 names a field the config does not "
                               "have. Did you mean 'batch_size'?"),
    ("--config=configs/nope.py", "--config configs/nope.py: no such file. Configs in "),
])
def test_mistakes_get_one_line_that_names_the_fix(tmp_path, data_dir, flag, message):
  result = _train(tmp_path, *TINY, flag, data_dir=data_dir)
  assert result.returncode == 1 and message in result.stderr, result.stderr
  assert "Traceback" not in result.stderr
  assert not os.path.exists(tmp_path / "runs")  # A failed run leaves no folder behind.


def test_a_missing_config_file_lists_the_configs(tmp_path):
  with pytest.raises(ConfigError, match=r"nope.py: no such file. Configs in .*: "
                                        r"binary_digits.py, conditional_digits.py, "
                                        r".*default.py, gaussians.py"):
    command_line.check_config_file(str(tmp_path / "nope.py"), os.path.join(ROOT, "configs"))
  assert command_line.config_file_in(["train.py", "--config", "a.py:arg"]) == "a.py"
  assert command_line.config_file_in(["train.py", "--config=b.py", "--config.x=1"]) == "b.py"
  assert command_line.config_file_in(["train.py", "--config.x=1"]) is None


@pytest.mark.slow
def test_a_finished_run_says_so_and_names_the_changed_fields(tmp_path, data_dir):
  assert _train(tmp_path, *TINY, data_dir=data_dir).returncode == 0
  workdir = tmp_path / "runs" / "default"
  events = sorted(glob.glob(str(workdir / "events.out.tfevents.*")))
  again = _train(tmp_path, *TINY, "--config.loss=hinge", data_dir=data_dir)
  assert again.returncode == 0, again.stderr
  assert "Nothing to train" in again.stderr and "already holds step 2" in again.stderr
  assert "loss: 'non_saturating' -> 'hinge'" in again.stderr
  assert sorted(glob.glob(str(workdir / "events.out.tfevents.*"))) == events  # No empty one.
  assert "Metadata file does not exist" not in again.stderr

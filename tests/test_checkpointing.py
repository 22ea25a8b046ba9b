"""Resuming from orbax checkpoints continues exactly."""

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxgan import trainer


def _assert_states_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(a), jax.device_get(b))


@pytest.mark.slow
@pytest.mark.parametrize("config_name,num_devices", [
    ("digits_config", 1), ("ring_config", 4)])
def test_resume_gives_the_same_parameters(request, tmp_path, config_name, num_devices):
  config = request.getfixturevalue(config_name)
  config.num_devices = num_devices
  config.batch_size = 8
  straight = trainer.train_and_evaluate(config, str(tmp_path / "straight"))

  config.num_train_steps = 2  # Stop half way, then start again with the full length.
  half = trainer.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert int(half.step) == 2
  config.num_train_steps = 4
  resumed = trainer.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert int(resumed.step) == 4
  _assert_states_equal(straight, resumed)


@pytest.mark.slow
def test_checkpoints_keep_the_last_k_and_restore_without_a_target(digits_config, tmp_path):
  digits_config.num_train_steps = 8
  digits_config.checkpoint_every_steps = 2
  digits_config.max_checkpoints_to_keep = 2
  state = trainer.train_and_evaluate(digits_config, str(tmp_path))
  manager = ocp.CheckpointManager(tmp_path / "checkpoints")
  assert manager.all_steps() == [6, 8]
  restored = manager.restore(8)
  np.testing.assert_array_equal(
      restored["state"]["g"]["params"]["Dense_0"]["kernel"], state.g.params["Dense_0"]["kernel"])
  assert restored["config"]["loss"] == "non_saturating"

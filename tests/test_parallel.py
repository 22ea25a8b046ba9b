"""The multi-device paths (pmap, and jit over a device mesh) on fake CPU devices (4, see
conftest.py; 8 in a subprocess) against the single-device jit path."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxgan import init_state, parallel, tasks, trainer
from jaxgan.errors import ConfigError

DEVICES = jax.local_device_count()


def _run(config, steps: int, layout: parallel.Layout):
  """`steps` steps from the same start on `layout` (each step compiled for its growth phase);
  returns the final state and metrics (one device's copy)."""
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = trainer.build_gan(config, task.spec)
  state, rng = layout.put((init_state(gan, jax.random.key(0), dataset.data_shape),
                           jax.random.key(1)))
  for i in range(steps):
    if i == 0 or gan.at_step(i) != gan.at_step(i - 1):
      step = layout.compile(gan.at_step(i))
    batch = dataset.batch(i, config.batch_size * gan.n_critic)
    state, metrics = step(state, layout.place(batch, gan.n_critic), rng)
  _assert_same_on_every_device(state, layout.num_devices)
  return layout.local(state), layout.local(metrics)


def _run_both(config, steps: int = 2, parallelism: str = "sharded",
              batch_norm: str = "per_device"):
  """The same steps through jit on one device and the `parallelism` path on all devices;
  returns both final states and metrics."""
  several = parallel.local_layout(0, parallelism, batch_norm)
  return *_run(config, steps, parallel.local_layout(1)), *_run(config, steps, several)


def _assert_same_on_every_device(tree, num_devices: int) -> None:
  for leaf in jax.tree.leaves(tree):
    copies = np.stack([np.asarray(shard.data).reshape(-1) for shard in leaf.addressable_shards])
    assert len(copies) == num_devices
    np.testing.assert_allclose(copies, np.broadcast_to(copies[0], copies.shape), rtol=1e-6,
                               atol=1e-7)


def _assert_same_parameters(a, b, rtol: float, atol: float) -> None:
  for player in ("g", "d"):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol),
                 getattr(a, player).params, getattr(b, player).params)


@pytest.mark.parametrize("parallelism", parallel.PARALLELISMS)
@pytest.mark.parametrize("n_critic, conditional", [(1, False), (2, False), (2, True)])
def test_parallel_path_equals_jit_without_batch_norm(ring_config, parallelism, n_critic,
                                                      conditional):
  ring_config.n_critic = n_critic
  ring_config.conditional = conditional
  jit_state, jit_metrics, many_state, many_metrics = _run_both(ring_config,
                                                               parallelism=parallelism)
  _assert_same_parameters(jit_state, many_state, rtol=2e-5, atol=1e-6)
  for name, value in jit_metrics.items():
    np.testing.assert_allclose(many_metrics[name], value, rtol=1e-4, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("parallelism", parallel.PARALLELISMS)
def test_cross_replica_batch_norm_equals_jit_and_per_device_does_not(digits_config,
                                                                     parallelism):
  digits_config.discriminator.batch_norm = True  # G has BatchNorm too.
  digits_config.discriminator.use_bias = False
  jit_state, _ = _run(digits_config, 3, parallel.local_layout(1))
  cross_state, _ = _run(digits_config, 3, parallel.local_layout(0, parallelism, "cross_replica"))
  _assert_same_parameters(jit_state, cross_state, rtol=1e-4, atol=2e-5)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5),
               jit_state.d.batch_stats, cross_state.d.batch_stats)
  per_device_state, _ = _run(digits_config, 3, parallel.local_layout(0, parallelism))
  with pytest.raises(AssertionError):  # Each device normalises by its own share's statistics.
    _assert_same_parameters(jit_state, per_device_state, rtol=1e-4, atol=2e-5)


@pytest.mark.slow
@pytest.mark.skipif(DEVICES != 4, reason="started once, from the 4-device session")
def test_parallel_paths_equal_jit_on_8_devices():
  """Both paths against jit again (the richest case: two critic steps, conditional), and
  cross-replica BatchNorm on the sharded path, in a process with 8 fake devices."""
  result = subprocess.run(
      [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--durations=0", "-n", "0",
       os.path.abspath(__file__), "-k", "2-True or cross_replica and sharded"],
      env=os.environ | {"JAXGAN_TEST_DEVICES": "8"}, capture_output=True, text=True,
      timeout=600, check=False)
  assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
  assert "3 passed" in result.stdout, result.stdout[-2000:]


def test_batch_size_not_divisible_by_devices_is_a_clear_error(ring_config, tmp_path):
  ring_config.num_devices = 0  # All four.
  ring_config.batch_size = 6
  with pytest.raises(ValueError, match=f"batch_size=6 is not divisible by the {DEVICES} dev"):
    trainer.train_and_evaluate(ring_config, str(tmp_path))


def test_unknown_parallelism_and_batch_norm_statistics_list_the_known_ones():
  with pytest.raises(ConfigError, match="Unknown parallelism 'spmd'. Known: sharded, pmap"):
    parallel.local_layout(2, "spmd")
  with pytest.raises(ConfigError, match="Known: per_device, cross_replica"):
    parallel.local_layout(2, "sharded", "sync")


def test_a_layout_says_which_devices_it_trains_on():
  assert str(parallel.local_layout(1)) == "1 cpu device"
  assert str(parallel.local_layout(0, "pmap")) == f"{DEVICES} cpu devices (pmap)"


@pytest.mark.parametrize("model,generator,discriminator", [
    ("sngan_resnet", {"features": (8, 8), "attention_resolution": 8},
     {"features": (8, 8, 8), "attention_resolution": 4}),
    ("dcgan", {"features": (16, 8), "attention_resolution": 8},
     {"features": (8, 16), "attention_resolution": 8, "spectral_norm": True}),
    ("msg", {"features": (8, 8, 8), "attention_resolution": 8},
     {"features": (8, 8, 8), "combine": "lin_cat", "minibatch_stddev": 4}),
    ("progressive", {"features": (8, 8)}, {"features": (8, 8)}),
])
@pytest.mark.slow
def test_model_families_train_on_several_devices(digits_config, model, generator,
                                                 discriminator):
  digits_config.model = model
  digits_config.generator = generator
  digits_config.discriminator = discriminator
  digits_config.loss = "hinge"
  if model == "msg":  # Penalties and instance noise take every input of D: every scale.
    digits_config.d_penalties = ({"name": "r1", "weight": 1.0},
                                 {"name": "gradient_penalty", "weight": 1.0})
    digits_config.instance_noise.std = 0.1
  steps = 2
  if model == "progressive":  # Phase 0, then phase 1 at alpha 0 and 0.5, with a penalty.
    digits_config.growth = {"phase_steps": 2, "fade_steps": 2}
    digits_config.d_penalties = ({"name": "r1", "weight": 1.0},)
    steps = 4
  state, metrics = _run(digits_config, steps, parallel.local_layout(DEVICES))
  assert all(np.all(np.isfinite(v)) for v in jax.device_get(metrics).values())
  if model == "progressive":
    assert float(state.g.batch_stats["alpha"]) == 0.5
  else:  # Attention's gamma left 0 after two updates: no gradient reaches the block.
    assert float(jax.device_get(state.g.params["SelfAttention_0"]["gamma"])) != 0.0

"""The pmap path on 4 fake CPU devices (see conftest.py) against the jit path."""

import flax.jax_utils
import jax
import numpy as np
import pytest

from jaxgan import data, init_state, trainer

DEVICES = 4


def _run_both(config, steps: int = 2):
  """The same steps through jit on one device and pmap on four (each step compiled for its
  growth phase); returns both final states."""
  dataset = data.get(config.dataset, seed=0, image_size=config.image_size,
                     data_dir=config.data_dir or None, with_labels=config.conditional)
  gan = trainer.build_gan(config, dataset.data_shape)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  rng = jax.random.key(1)
  jit_state = jax.tree.map(jax.numpy.copy, state)
  devices = jax.local_devices()[:DEVICES]
  pmap_state = flax.jax_utils.replicate(state, devices)
  pmap_rng = flax.jax_utils.replicate(rng, devices)
  for i in range(steps):
    if i == 0 or gan.at_step(i) != gan.at_step(i - 1):
      jit_step = trainer.compile_step(gan.at_step(i), 1)
      pmap_step = trainer.compile_step(gan.at_step(i), DEVICES)
    batch = dataset.batch(i, config.batch_size * gan.n_critic)
    jit_state, jit_metrics = jit_step(jit_state, batch, rng)
    pmap_state, pmap_metrics = pmap_step(
        pmap_state, trainer.shard_batch(batch, DEVICES, gan.n_critic), pmap_rng)
  return jit_state, jit_metrics, pmap_state, pmap_metrics


@pytest.mark.parametrize("n_critic, conditional", [(1, False), (2, False), (2, True)])
def test_pmap_equals_jit_without_batch_norm(ring_config, n_critic, conditional):
  assert jax.local_device_count() == DEVICES
  ring_config.n_critic = n_critic
  ring_config.conditional = conditional
  jit_state, jit_metrics, pmap_state, pmap_metrics = _run_both(ring_config)
  for player in ("g", "d"):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6),
                 getattr(jit_state, player).params,
                 getattr(flax.jax_utils.unreplicate(pmap_state), player).params)
  for name, value in jit_metrics.items():
    np.testing.assert_allclose(pmap_metrics[name][0], value, rtol=1e-4, err_msg=name)


def test_pmap_trains_with_batch_norm_and_keeps_devices_in_sync(digits_config):
  digits_config.discriminator.batch_norm = True
  digits_config.discriminator.use_bias = False
  _, _, pmap_state, pmap_metrics = _run_both(digits_config, steps=3)
  assert all(np.all(np.isfinite(v)) for v in jax.device_get(pmap_metrics).values())
  stats = pmap_state.d.batch_stats
  assert stats, "the textbook discriminator has BatchNorm"
  for leaf in jax.tree.leaves((pmap_state.g, pmap_state.d)):  # Identical on every device.
    np.testing.assert_allclose(leaf, np.broadcast_to(leaf[0], leaf.shape), rtol=1e-6, atol=1e-7)


def test_batch_size_not_divisible_by_devices_is_a_clear_error(ring_config, tmp_path):
  ring_config.num_devices = 0  # All four.
  ring_config.batch_size = 6
  with pytest.raises(ValueError, match="batch_size=6 is not divisible by the 4 devices"):
    trainer.train_and_evaluate(ring_config, str(tmp_path))


@pytest.mark.parametrize("model,generator,discriminator", [
    ("sngan_resnet", {"features": (8, 8), "attention_resolution": 8},
     {"features": (8, 8, 8), "attention_resolution": 4}),
    ("dcgan", {"features": (16, 8), "attention_resolution": 8},
     {"features": (8, 16), "attention_resolution": 8, "spectral_norm": True}),
    ("msg", {"features": (8, 8, 8), "attention_resolution": 8},
     {"features": (8, 8, 8), "combine": "lin_cat", "minibatch_stddev": 4}),
    ("progressive", {"features": (8, 8)}, {"features": (8, 8)}),
])
def test_model_families_train_under_jit_and_pmap(digits_config, model, generator, discriminator):
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
  jit_state, jit_metrics, pmap_state, pmap_metrics = _run_both(digits_config, steps)
  for metrics in (jit_metrics, pmap_metrics):
    assert all(np.all(np.isfinite(v)) for v in jax.device_get(metrics).values())
  if model == "progressive":
    assert float(jit_state.g.batch_stats["alpha"]) == 0.5
  else:  # Attention's gamma left 0 after two updates: no gradient reaches the block.
    assert float(jax.device_get(jit_state.g.params["SelfAttention_0"]["gamma"])) != 0.0
  for leaf in jax.tree.leaves((pmap_state.g, pmap_state.d)):  # Identical on every device.
    np.testing.assert_allclose(leaf, np.broadcast_to(leaf[0], leaf.shape), rtol=1e-6, atol=1e-7)

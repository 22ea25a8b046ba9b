import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import init_state, losses, tasks, train_step
from jaxgan.models.mlp import MLPDiscriminator
from jaxgan.regularizers import Penalty
from jaxgan.state import GAN, Augment
from jaxgan.step import (
  _context,
  _d_loss,
  _latent_rng,
  _step_inputs,
  generate_outputs,
  step_labels,
)
from jaxgan.trainer import build_gan


def _leaves_equal(a, b) -> bool:
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _key_set(*keys) -> set[tuple[int, ...]]:
  """The distinct keys among `keys`, as tuples of their key data."""
  return {tuple(np.asarray(jax.random.key_data(key)).ravel()) for key in keys}


def _assert_trees_close(a, b, **tolerances):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **tolerances), a, b)


def _setup(config, **overrides):
  config.update(overrides)
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = build_gan(config, task.spec)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  step = jax.jit(functools.partial(train_step, gan))
  return gan, state, step, dataset


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_one_step_updates_both_players(digits_config, schedule):
  _, state, step, dataset = _setup(digits_config, schedule=schedule)
  new_state, metrics = step(state, dataset.batch(0, 8), jax.random.key(1))
  assert int(new_state.step) == 1
  for old, new in ((state.g, new_state.g), (state.d, new_state.d)):
    for before, after in zip(jax.tree.leaves(old.params), jax.tree.leaves(new.params)):
      assert not np.array_equal(before, after)
    assert not _leaves_equal(old.batch_stats, new.batch_stats) or not old.batch_stats
  assert set(metrics) == {"d/loss", "d/real_prob", "d/fake_prob", "d/grad_norm", "g/loss",
                          "g/grad_norm"}
  assert all(np.isfinite(v) for v in jax.device_get(metrics).values())


@pytest.mark.parametrize("loss, probabilities", [("non_saturating", True), ("minimax", True),
                                                  ("wasserstein", False), ("hinge", False),
                                                  ("least_squares", False)])
def test_d_metrics_are_probabilities_only_for_logits(ring_config, loss, probabilities):
  gan, state, step, dataset = _setup(ring_config, loss=loss)
  batch = dataset.batch(0, 8)
  _, metrics = step(state, batch, jax.random.key(1))
  real_outputs = gan.discriminator.apply({"params": state.d.params}, batch, train=True)
  if probabilities:
    assert "d/real_score" not in metrics
    np.testing.assert_allclose(metrics["d/real_prob"], np.mean(jax.nn.sigmoid(real_outputs)),
                               rtol=1e-5)
  else:
    assert "d/real_prob" not in metrics and "d/fake_prob" not in metrics
    np.testing.assert_allclose(metrics["d/real_score"], np.mean(real_outputs), rtol=1e-5)
    assert np.isfinite(metrics["d/fake_score"])


def test_each_player_moves_only_through_its_own_optimizer(ring_config):
  ring_config.g_optimizer = {"name": "sgd", "learning_rate": 1e-30}
  _, state, step, dataset = _setup(ring_config)
  new_state, _ = step(state, dataset.batch(0, 8), jax.random.key(1))
  _assert_trees_close(new_state.g.params, state.g.params, rtol=0, atol=1e-20)
  assert not _leaves_equal(new_state.d.params, state.d.params)
  assert int(new_state.d.opt_state[0].count) == 1  # Adam's step count: D's optimizer ran.


def test_discriminator_learns_to_separate_real_from_fake(ring_config):
  ring_config.g_optimizer = {"name": "sgd", "learning_rate": 1e-30}  # A frozen G.
  ring_config.discriminator.hidden_dims = (64, 64)
  _, state, step, dataset = _setup(ring_config)
  batch = dataset.batch(0, 8)
  for _ in range(400):
    state, metrics = step(state, batch, jax.random.key(1))
  assert float(metrics["d/real_prob"]) > 0.9 and float(metrics["d/fake_prob"]) < 0.1


def test_step_is_deterministic_and_depends_on_the_key(digits_config):
  _, state, step, dataset = _setup(digits_config)
  batch = dataset.batch(0, 8)
  a, _ = step(state, batch, jax.random.key(1))
  b, _ = step(state, batch, jax.random.key(1))
  c, _ = step(state, batch, jax.random.key(2))
  assert _leaves_equal(a, b) and not _leaves_equal(a.g.params, c.g.params)


def test_n_critic_runs_that_many_discriminator_updates(ring_config):
  gan, state, step, dataset = _setup(ring_config, n_critic=3)
  new_state, _ = step(state, dataset.batch(0, 3 * 8), jax.random.key(1))
  assert int(new_state.d.opt_state[0].count) == 3 and int(new_state.g.opt_state[0].count) == 1


def test_simultaneous_gradients_come_from_the_same_discriminator(ring_config):
  # With D's learning rate ~0, both schedules see the same D, so G moves identically.
  ring_config.d_optimizer = {"name": "sgd", "learning_rate": 1e-30}
  _, state, alternating, dataset = _setup(ring_config)
  _, _, simultaneous, _ = _setup(ring_config, schedule="simultaneous")
  batch = dataset.batch(0, 8)
  a, ma = alternating(state, batch, jax.random.key(1))
  s, ms = simultaneous(state, batch, jax.random.key(1))
  _assert_trees_close(a.g.params, s.g.params, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(ma["g/loss"], ms["g/loss"], rtol=1e-5)
  np.testing.assert_allclose(ma["d/loss"], ms["d/loss"], rtol=1e-5)


def test_bad_schedule_and_n_critic_are_clear_errors(ring_config):
  with pytest.raises(ValueError, match="Unknown schedule 'together'"):
    _setup(ring_config, schedule="together")
  with pytest.raises(ValueError, match="n_critic=1 or use schedule='alternating'"):
    _setup(ring_config, schedule="simultaneous", n_critic=2)


def test_bfloat16_computes_in_bfloat16_and_keeps_float32_state(digits_config):
  digits_config.discriminator.batch_norm = True  # BatchNorm statistics in both players.
  digits_config.discriminator.use_bias = False
  _, state32, step32, dataset = _setup(digits_config)
  _, state16, step16, _ = _setup(digits_config, dtype="bfloat16")
  batch, key = dataset.batch(0, 8), jax.random.key(1)
  assert "bf16[" in str(jax.make_jaxpr(step16)(state16, batch, key))
  assert "bf16[" not in str(jax.make_jaxpr(step32)(state32, batch, key))
  for i in range(3):
    batch = dataset.batch(i, 8)
    state32, _ = step32(state32, batch, key)
    state16, metrics = step16(state16, batch, key)
    assert all(np.isfinite(v) for v in jax.device_get(metrics).values())
  floats = [x for x in jax.tree.leaves(state16) if np.issubdtype(x.dtype, np.floating)]
  assert floats and all(x.dtype == np.float32 for x in floats)
  assert not _leaves_equal(state16.g.params, state32.g.params)  # Rounded differently ...
  _assert_trees_close(state16.g.params, state32.g.params, atol=0.02)  # ... but close.


def test_unknown_dtype_lists_the_known_ones(ring_config):
  with pytest.raises(ValueError, match="Unknown dtype 'float16'. Known: float32, bfloat16"):
    _setup(ring_config, dtype="float16")


class _NoisyGenerator(nn.Module):
  """`scale * latents` plus noise from the `"noise"` stream: a generator with noise of its
  own, as pix2pix's dropout or a discrete output's sampling."""

  @nn.compact
  def __call__(self, latents, *, train=True):
    scale = self.param("scale", nn.initializers.ones, ())
    return scale * latents + jax.random.normal(self.make_rng("noise"), latents.shape)


def test_sampling_a_generator_with_noise_of_its_own_is_fixed_by_default():
  gan = GAN(generator=_NoisyGenerator(), discriminator=MLPDiscriminator(hidden_dims=(4,)),
            g_optimizer=optax.sgd(0.1), d_optimizer=optax.sgd(0.1),
            loss=losses.get("non_saturating"), latent_dim=2)
  state = init_state(gan, jax.random.key(0), (2,))
  latents = np.zeros((256, 2), np.float32)
  by_default = generate_outputs(gan, state.g, latents)
  np.testing.assert_array_equal(by_default, generate_outputs(gan, state.g, latents))
  np.testing.assert_array_equal(
      by_default, generate_outputs(gan, state.g, latents, noise_rng=jax.random.key(0)))
  other = generate_outputs(gan, state.g, latents, noise_rng=jax.random.key(1))
  assert not np.allclose(other, by_default)
  assert float(np.std(other)) == pytest.approx(1.0, rel=0.1)  # The noise, with zero latents.


def test_samples_follow_their_labels_and_the_compute_dtype(ring_config):
  gan, state, _, _ = _setup(ring_config, conditional=True)
  latents = jax.random.normal(jax.random.key(2), (16, gan.latent_dim))
  zeros, ones = (generate_outputs(gan, state.g, latents, np.full(16, label)) for label in (0, 1))
  assert not np.allclose(zeros, ones)
  in_bfloat16 = dataclasses.replace(gan, compute_dtype="bfloat16")
  sample = lambda gan: functools.partial(generate_outputs, gan)  # noqa: E731
  labels = np.zeros(16, np.int32)
  assert "bf16[" in str(jax.make_jaxpr(sample(in_bfloat16))(state.g, latents, labels))
  assert "bf16[" not in str(jax.make_jaxpr(sample(gan))(state.g, latents, labels))


def test_step_labels_are_drawn_per_critic_update_from_the_step_and_its_key(ring_config):
  gan, _, _, _ = _setup(ring_config, conditional=True)
  gan = dataclasses.replace(gan, n_critic=2)
  rng, step = jax.random.key(3), np.int32(4)
  labels = np.asarray(step_labels(gan, rng, step, 64))
  assert labels.shape == (2, 64) and np.issubdtype(labels.dtype, np.integer)
  assert set(labels.ravel()) == set(range(gan.num_classes))
  assert not np.array_equal(labels[0], labels[1])
  np.testing.assert_array_equal(labels, step_labels(gan, rng, step, 64))
  assert not np.array_equal(labels, step_labels(gan, rng, step + 1, 64))
  assert not np.array_equal(labels, step_labels(gan, jax.random.key(4), step, 64))
  assert step_labels(dataclasses.replace(gan, num_classes=0), rng, step, 64) is None


def test_the_latents_key_is_no_other_key_of_the_step_nor_their_parent(ring_config):
  """A key used twice would tie the latents to D's or G's own randomness."""
  gan, _, _, dataset = _setup(ring_config)
  gan = dataclasses.replace(gan, n_critic=2)
  rng, step = jax.random.key(3), np.int32(4)
  inputs, g_rng = _step_inputs(gan, step, dataset.batch(0, 16), rng, axis_name=None)
  latent_rng = _latent_rng(rng, step)

  handed_out = _key_set(g_rng, *inputs.d_rng, *inputs.noise_rng)
  assert len(handed_out) == 1 + 2 * gan.n_critic
  assert not _key_set(latent_rng, *jax.random.split(latent_rng, gan.n_critic)) & handed_out


def test_d_calls_inside_penalties_draw_from_keys_no_penalty_holds(ring_config):
  """With two penalties, D's own randomness inside them (here its augmentation) gets a key of
  its own, not the second penalty's."""
  gan, state, _, dataset = _setup(ring_config)
  penalty_keys, augment_keys = [], []

  def penalty(d_fn, real, fake, key):
    penalty_keys.append(key)
    return jnp.mean(d_fn(real))

  def augment(key, samples, p):
    augment_keys.append(key)
    return samples

  gan = dataclasses.replace(gan, augment=Augment(transform=augment),
                            d_penalties=(Penalty("a", penalty, 1.0), Penalty("b", penalty, 1.0)))
  real = dataset.batch(0, 8)
  _d_loss(gan, _context(gan, state, None), state.d.params, state.d, real, None, real, None,
          jax.random.key(5))
  assert len(penalty_keys) == 2 and len(augment_keys) == 4  # Real, fake, one per penalty.
  near_penalty_keys = _key_set(*penalty_keys, *(jax.random.fold_in(key, i)
                                                for key in penalty_keys for i in range(4)))
  assert not _key_set(*augment_keys[2:]) & near_penalty_keys


def test_a_sample_does_not_depend_on_the_rest_of_its_batch(digits_config):
  gan, state, step, dataset = _setup(digits_config)  # G has BatchNorm.
  state, _ = step(state, dataset.batch(0, 8), jax.random.key(1))  # Running statistics move.
  latents = jax.random.normal(jax.random.key(2), (8, gan.latent_dim))
  np.testing.assert_allclose(generate_outputs(gan, state.g, latents)[:2],
                             generate_outputs(gan, state.g, latents[:2]), atol=1e-5)

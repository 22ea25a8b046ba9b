"""The discrete outputs' estimators: hard values forward, the smooth stand-in's gradient
backward, and samples from the right distribution; binary generators on binarised digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.errors import ConfigError
from jaxgan.models import discrete

LOGITS = jnp.array([[2.0, -1.0, 0.5, 0.0], [0.1, 0.2, -3.0, 1.5]])


def _vjp(fn, x, cotangent):
  return jax.vjp(fn, x)[1](cotangent)[0]


def test_straight_through_one_hot_is_hard_forward_with_the_softmax_gradient():
  out = discrete.one_hot_straight_through(LOGITS)
  np.testing.assert_array_equal(out, jax.nn.one_hot(jnp.argmax(LOGITS, -1), 4))
  cotangent = jax.random.normal(jax.random.key(0), LOGITS.shape)
  np.testing.assert_allclose(_vjp(discrete.one_hot_straight_through, LOGITS, cotangent),
                             _vjp(jax.nn.softmax, LOGITS, cotangent), rtol=1e-6, atol=1e-7)
  # The gradient is not the hard one-hot's (zero almost everywhere).
  assert np.abs(_vjp(discrete.one_hot_straight_through, LOGITS, cotangent)).max() > 1e-3


def test_gumbel_softmax_is_the_categorical_sample_with_the_relaxed_gradient():
  key = jax.random.key(3)
  hard = discrete.gumbel_softmax(LOGITS, key, temperature=0.5)
  expected = jnp.argmax(LOGITS + jax.random.gumbel(key, LOGITS.shape), -1)  # Gumbel-max.
  np.testing.assert_array_equal(hard, jax.nn.one_hot(expected, 4))
  relaxed = lambda x: discrete.gumbel_softmax(x, key, temperature=0.5, hard=False)  # noqa: E731
  assert not np.allclose(relaxed(LOGITS), hard)
  np.testing.assert_allclose(relaxed(LOGITS).sum(-1), 1.0, rtol=1e-6)
  cotangent = jax.random.normal(jax.random.key(1), LOGITS.shape)
  np.testing.assert_allclose(
      _vjp(lambda x: discrete.gumbel_softmax(x, key, temperature=0.5), LOGITS, cotangent),
      _vjp(relaxed, LOGITS, cotangent), rtol=1e-5, atol=1e-7)


def test_gumbel_softmax_samples_follow_the_softmax_probabilities():
  logits = jnp.broadcast_to(jnp.array([1.0, 0.0, -1.0, 2.0]), (40_000, 4))
  samples = discrete.gumbel_softmax(logits, jax.random.key(7))
  np.testing.assert_allclose(samples.mean(0), jax.nn.softmax(logits[0]), atol=0.01)


def test_binary_straight_through_samples_signs_with_the_mean_gradient():
  logits = jnp.broadcast_to(jnp.array([-2.0, 0.0, 1.0, 3.0]), (40_000, 4))
  samples = discrete.binary_straight_through(logits, jax.random.key(0))
  assert set(np.unique(samples)) == {-1.0, 1.0}
  np.testing.assert_allclose(samples.mean(0), jnp.tanh(logits[0] / 2), atol=0.015)
  x = jnp.array([-2.0, -0.1, 1.0, 3.0])
  np.testing.assert_array_equal(discrete.binary_straight_through(x), [-1.0, -1.0, 1.0, 1.0])
  weights = jnp.arange(1.0, 5.0)
  for key in (jax.random.key(1), None):
    grad = jax.grad(lambda x: jnp.sum(discrete.binary_straight_through(x, key) * weights))(x)
    np.testing.assert_allclose(grad, weights * (1 - jnp.tanh(x / 2) ** 2) / 2, rtol=1e-6)


@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_gumbel_softmax_is_one_hot_at_any_temperature(temperature):
  out = discrete.gumbel_softmax(LOGITS, jax.random.key(2), temperature=temperature)
  np.testing.assert_array_equal(out.sum(-1), 1.0)
  assert set(np.unique(out)) <= {0.0, 1.0}


@pytest.mark.parametrize("output", ["binary", "bernoulli"])
def test_binary_generator_on_binarised_digits(output, data_dir, make_task):
  dataset = make_task(data_dir=data_dir, task_kwargs={"binarized": True}).dataset
  batch = dataset.batch(0, 32)
  assert batch.shape == (32, 16, 16, 1) and set(np.unique(batch)) == {-1.0, 1.0}
  generator = models.get("mlp").generator(data_shape=(16, 16, 1), hidden_dims=(8,),
                                          output_activation=output)
  latents = jax.random.normal(jax.random.key(0), (4, 3))
  variables = generator.init({"params": jax.random.key(1), "noise": jax.random.key(2)}, latents)
  images = generator.apply(variables, latents, rngs={"noise": jax.random.key(3)})
  assert images.shape == (4, 16, 16, 1) and set(np.unique(images)) == {-1.0, 1.0}
  again = generator.apply(variables, latents, rngs={"noise": jax.random.key(4)})
  assert np.array_equal(images, again) == (output == "binary")  # Only samples vary.


def test_unknown_output_activation_lists_the_known_ones():
  generator = models.get("mlp").generator(data_shape=(2,), output_activation="sign")
  with pytest.raises(ConfigError, match="Known: tanh, identity, bernoulli, binary"):
    generator.init(jax.random.key(0), jnp.zeros((1, 2)))

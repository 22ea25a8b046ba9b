"""Discrete outputs a generator can emit and still be trained by gradient: one-hot
characters and binary pixels.

The straight-through estimator (Bengio et al. 2013) emits the hard value forward and
passes back the gradient of a smooth stand-in: `hard + soft - stop_gradient(soft)`.
Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017) draws a relaxed categorical
sample, `softmax((logits + gumbel noise) / temperature)`, made one-hot the same way when
`hard`. Sampled outputs take a key: in a Flax module, `self.make_rng("noise")`, which
jaxgan's step and sampler provide.
"""

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array


def straight_through(hard: Array, soft: Array) -> Array:
  """`hard` forward (exactly: `soft - stop_gradient(soft)` is 0), the gradient of `soft`
  backward (same shapes)."""
  return hard + (soft - lax.stop_gradient(soft))


def one_hot_straight_through(logits: Array) -> Array:
  """One-hot of the most likely class along the last axis `[..., classes]`, with the gradient
  of `softmax(logits)`."""
  soft = jax.nn.softmax(logits)
  return straight_through(jax.nn.one_hot(jnp.argmax(logits, -1), logits.shape[-1]), soft)


def gumbel_softmax(logits: Array, key: Array, *, temperature: float = 1.0,
                   hard: bool = True) -> Array:
  """A Gumbel-softmax sample `[..., classes]` from the categorical of `logits`: relaxed
  (the softmax at `temperature`), or with `hard` one-hot (exactly the categorical's sample,
  by the Gumbel-max trick) with the relaxed sample's gradient."""
  perturbed = (logits + jax.random.gumbel(key, logits.shape)) / temperature
  return one_hot_straight_through(perturbed) if hard else jax.nn.softmax(perturbed)


def binary_straight_through(logits: Array, key: Array | None = None) -> Array:
  """Binary values in {-1, 1} (same shape as `logits`) with the gradient of their mean
  under Bernoulli(sigmoid(logits)), `2 sigmoid(logits) - 1 = tanh(logits / 2)`. With `key`,
  Bernoulli samples (1 with probability `sigmoid(logits)`); without, the more likely value
  (1 where `logits > 0`)."""
  soft = jnp.tanh(logits / 2)
  threshold = 0.5 if key is None else jax.random.uniform(key, logits.shape)
  hard = jnp.where(threshold < jax.nn.sigmoid(logits), 1.0, -1.0)
  return straight_through(hard, soft)

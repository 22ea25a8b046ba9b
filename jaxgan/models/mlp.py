"""The fully connected GAN (Goodfellow et al. 2014): any data shape, LeakyReLU MLPs.

Options for the mode-collapse experiments: a G with BatchNorm and ReLU (PacGAN's 2-D
generator), a maxout D (Goodfellow et al. 2013, PacGAN's 2-D discriminator) and
minibatch discrimination (Salimans et al. 2016) or the minibatch standard deviation
(Karras et al. 2018) before D's last layer.
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.errors import ConfigError
from jaxgan.models import discrete
from jaxgan.models.common import (
  ACTIVATIONS,
  HIDDEN_ACTIVATIONS,
  MinibatchDiscrimination,
  batch_norm,
  batch_stddev_feature,
  maybe_spectral_norm,
  projection,
  with_labels,
)

Array = jax.Array
BINARY_OUTPUTS = ("bernoulli", "binary")


def _check_activation(name: str) -> None:
  if name not in HIDDEN_ACTIVATIONS:
    raise ConfigError(f"Unknown activation {name!r}. Known: {', '.join(HIDDEN_ACTIVATIONS)}.")


class MLPGenerator(nn.Module):
  """Latent -> dense layers with `activation` (after BatchNorm, when `batch_norm`, then
  without biases; over the batches of all devices along `batch_norm_axis` if given) ->
  `data_shape` through `output_activation`: tanh, identity, or binary values in {-1, 1} by
  the straight-through estimator (jaxgan.models.discrete): `"bernoulli"` samples, or
  `"binary"`, the more likely value."""
  data_shape: Sequence[int]
  hidden_dims: Sequence[int] = (256, 256)
  output_activation: str = "tanh"
  activation: str = "leaky_relu"
  batch_norm: bool = False
  num_classes: int = 0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    _check_activation(self.activation)
    if self.output_activation not in (*ACTIVATIONS, *BINARY_OUTPUTS):
      raise ConfigError(f"Unknown output_activation {self.output_activation!r}. Known: "
                        f"{', '.join((*ACTIVATIONS, *BINARY_OUTPUTS))}.")
    x = with_labels(latents, labels, self.num_classes)
    for width in self.hidden_dims:
      x = nn.Dense(width, use_bias=not self.batch_norm)(x)
      if self.batch_norm:
        x = batch_norm(train, self.batch_norm_axis)(x)
      x = HIDDEN_ACTIVATIONS[self.activation](x)
    x = nn.Dense(math.prod(self.data_shape))(x)
    if self.output_activation in BINARY_OUTPUTS:
      sampled = self.output_activation == "bernoulli"
      x = discrete.binary_straight_through(x, self.make_rng("noise") if sampled else None)
    else:
      x = ACTIVATIONS[self.output_activation](x)
    return x.reshape(latents.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
  """Samples flattened -> dense layers with LeakyReLU(0.2), or maxout over `maxout_pieces`
  linear pieces -> one logit; optionally spectrally normalised, and with
  `minibatch_discrimination` kernels or the `minibatch_stddev` feature (groups of that
  size) before the last layer."""
  hidden_dims: Sequence[int] = (256, 256)
  spectral_norm: bool = False
  maxout_pieces: int = 0
  minibatch_discrimination: int = 0
  minibatch_stddev: int = 0
  num_classes: int = 0

  @nn.compact
  def __call__(self, samples: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    dense = lambda width, x: maybe_spectral_norm(  # noqa: E731
        nn.Dense(width), x, spectral_norm=self.spectral_norm, train=train)
    x = samples.reshape(samples.shape[0], -1)
    for width in self.hidden_dims:
      if self.maxout_pieces:
        x = jnp.max(dense(width * self.maxout_pieces, x).reshape(
            -1, width, self.maxout_pieces), axis=-1)
      else:
        x = nn.leaky_relu(dense(width, x), 0.2)
    if self.minibatch_discrimination:
      x = MinibatchDiscrimination(self.minibatch_discrimination)(x)
    x = batch_stddev_feature(x, self.minibatch_stddev)
    return dense(1, x)[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del data_shape, generator_kwargs  # Any shape.

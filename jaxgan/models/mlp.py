"""The fully connected GAN (Goodfellow et al. 2014): any data shape, LeakyReLU MLPs."""

import math
from typing import Sequence

import flax.linen as nn
import jax

from jaxgan.models.common import ACTIVATIONS, maybe_spectral_norm, projection, with_labels

Array = jax.Array


class MLPGenerator(nn.Module):
  """Latent -> dense layers with LeakyReLU(0.2) -> `data_shape` (tanh by default)."""
  data_shape: Sequence[int]
  hidden_dims: Sequence[int] = (256, 256)
  output_activation: str = "tanh"
  num_classes: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train  # No BatchNorm.
    x = with_labels(latents, labels, self.num_classes)
    for width in self.hidden_dims:
      x = nn.leaky_relu(nn.Dense(width)(x), 0.2)
    x = nn.Dense(math.prod(self.data_shape))(x)
    x = ACTIVATIONS[self.output_activation](x)
    return x.reshape(latents.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
  """Samples flattened -> dense layers with LeakyReLU(0.2) -> one logit; optionally
  spectrally normalised."""
  hidden_dims: Sequence[int] = (256, 256)
  spectral_norm: bool = False
  num_classes: int = 0

  @nn.compact
  def __call__(self, samples: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    dense = lambda width, x: maybe_spectral_norm(  # noqa: E731
        nn.Dense(width), x, spectral_norm=self.spectral_norm, train=train)
    x = samples.reshape(samples.shape[0], -1)
    for width in self.hidden_dims:
      x = nn.leaky_relu(dense(width, x), 0.2)
    return dense(1, x)[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del data_shape, generator_kwargs  # Any shape.

"""DCGAN (Radford et al. 2015): strided convolutions in D, transposed ones in G."""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers
from jaxgan.models.attention import SelfAttention
from jaxgan.models.common import (
  batch_norm,
  batch_stddev_feature,
  check_attention_resolution,
  check_square_image,
  dcgan_init,
  latent_maps,
  maybe_spectral_norm,
  projection,
)

Array = jax.Array


class DCGANGenerator(nn.Module):
  """Radford et al. 2015: project to `base x base x features[0]`, then stride-2 4x4
  transposed convolutions with BatchNorm + ReLU, doubling the size each time, and a
  last one to the image channels with tanh. `base = size / 2**len(features)`:
  64x64 with `features=(512, 256, 128, 64)` is the paper's model, 28x28 with
  `(128, 64)` starts from 7x7. `attention_resolution` puts a self-attention block
  (SAGAN) after the feature maps of that size. `batch_norm_axis`: the device axis whose
  batches BatchNorm normalises over together (None: each device its own).
  """
  data_shape: Sequence[int]
  features: Sequence[int] = (256, 128, 64)
  use_bias: bool = False
  num_classes: int = 0
  attention_resolution: int = 0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    size, _, channels = self.data_shape
    # A dense layer on the latent is the paper's 4x4 transposed conv on a 1x1 input.
    x = latent_maps(latents, labels, num_classes=self.num_classes, size=size,
                    doublings=len(self.features), features=self.features[0],
                    use_bias=self.use_bias, kernel_init=dcgan_init)
    x = nn.relu(batch_norm(train, self.batch_norm_axis)(x))
    sizes = [x.shape[1] * 2 ** i for i in range(len(self.features))]
    check_attention_resolution(self.attention_resolution, sizes, "The dcgan generator")
    for width in self.features[1:]:
      x = _attend_at(self.attention_resolution, x, train=train)
      x = layers.ConvTranspose(width, use_bias=self.use_bias, kernel_init=dcgan_init)(x)
      x = nn.relu(batch_norm(train, self.batch_norm_axis)(x))
    x = _attend_at(self.attention_resolution, x, train=train)
    x = layers.ConvTranspose(channels, use_bias=self.use_bias, kernel_init=dcgan_init)(x)
    return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
  """Stride-2 4x4 convolutions with LeakyReLU(0.2), BatchNorm on all but the first
  (when `batch_norm`), and a last `base x base` convolution to one logit.
  The paper's model is `batch_norm=True, use_bias=False`; on tiny data sets a
  discriminator with biases and no BatchNorm trains better (see configs/default.py).
  `spectral_norm=True` normalises every convolution (SNGAN; usually without BatchNorm).
  `attention_resolution` puts a self-attention block after the feature maps of that size;
  `minibatch_stddev=4` adds the batch's standard deviation (groups of 4) as a feature
  before the last layer. `batch_norm_axis` as for the generator.
  """
  features: Sequence[int] = (64, 128, 256)
  batch_norm: bool = True
  use_bias: bool = False
  spectral_norm: bool = False
  num_classes: int = 0
  attention_resolution: int = 0
  minibatch_stddev: int = 0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, images: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    conv = lambda layer, x: maybe_spectral_norm(  # noqa: E731
        layer, x, spectral_norm=self.spectral_norm, train=train)
    x = images
    sizes = [images.shape[1] // 2 ** (i + 1) for i in range(len(self.features))]
    check_attention_resolution(self.attention_resolution, sizes, "The dcgan discriminator")
    for i, width in enumerate(self.features):
      x = conv(layers.Conv(width, use_bias=self.use_bias, kernel_init=dcgan_init), x)
      if self.batch_norm and i > 0:
        x = batch_norm(train, self.batch_norm_axis)(x)
      x = nn.leaky_relu(x, 0.2)
      x = _attend_at(self.attention_resolution, x, spectral_norm=self.spectral_norm, train=train)
    last = nn.Conv(1, x.shape[1:3], padding="VALID", use_bias=self.use_bias,
                   kernel_init=dcgan_init)
    logits = conv(last, batch_stddev_feature(x, self.minibatch_stddev))
    return logits.reshape(-1) + projection(x, labels, self.num_classes)


def _attend_at(resolution: int, x: Array, *, spectral_norm: bool = False, train: bool) -> Array:
  """`x` through a self-attention block if its maps are `resolution` wide, else `x`."""
  if x.shape[1] != resolution:
    return x
  return SelfAttention(spectral_norm=spectral_norm)(x, train=train)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  check_square_image("dcgan", data_shape, generator_kwargs.get("features", DCGANGenerator.features))

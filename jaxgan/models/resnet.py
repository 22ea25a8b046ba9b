"""ResNet G and D with spectral normalisation (SNGAN, Miyato et al. 2018), the CIFAR-10 baseline.

G: a dense layer to `base x base x features[0]`, then one up-block per entry of
`features` (BatchNorm, ReLU, 2x nearest upsampling, 3x3 conv, BatchNorm, ReLU, 3x3
conv, plus a 1x1-conv shortcut of the upsampled input), BatchNorm, ReLU, a 3x3 conv
to the image channels and tanh. D: residual blocks (ReLU, 3x3 conv, ReLU, 3x3 conv,
2x2 average pooling on the first `num_down`; the first block starts without ReLU),
ReLU, a sum over positions and a dense layer to one logit, every kernel spectrally
normalised. The paper's CIFAR-10 model is G `features=(256, 256, 256)` from 4x4 and
D `features=(128, 128, 128, 128)` with `num_down=2` (configs/sngan_cifar10.py).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers
from jaxgan.models.attention import SelfAttention
from jaxgan.models.common import (
  batch_norm,
  check_attention_resolution,
  check_square_image,
  downsample,
  latent_maps,
  maybe_spectral_norm,
  projection,
  upsample,
)

Array = jax.Array
_init = nn.initializers.xavier_uniform()


def _conv(features: int, kernel_size: int = 3, name: str | None = None) -> layers.Conv:
  """`nn.Conv(features, (k, k))` (SAME, odd `k`) with jaxgan.layers' faster CPU routes."""
  return layers.Conv(features, kernel_size=kernel_size, stride=1, padding=kernel_size // 2,
                     kernel_init=_init, name=name)


class _UpBlock(nn.Module):
  features: int
  batch_norm_axis: str | None

  @nn.compact
  def __call__(self, x: Array, *, train: bool) -> Array:
    h = upsample(nn.relu(batch_norm(train, self.batch_norm_axis)(x)))
    h = _conv(self.features)(h)
    h = nn.relu(batch_norm(train, self.batch_norm_axis)(h))
    h = _conv(self.features)(h)
    return h + _conv(self.features, 1, name="shortcut")(upsample(x))


class _DownBlock(nn.Module):
  features: int
  down: bool
  first: bool  # The first block sees images: no ReLU before its first convolution.
  spectral_norm: bool

  @nn.compact
  def __call__(self, x: Array, *, train: bool) -> Array:
    def conv(kernel: int, name: str, inputs: Array) -> Array:
      layer = _conv(self.features, kernel, name=name)
      return maybe_spectral_norm(layer, inputs, spectral_norm=self.spectral_norm, train=train)

    h = conv(3, "conv_0", x if self.first else nn.relu(x))
    h = conv(3, "conv_1", nn.relu(h))
    shortcut = x
    if self.first:  # Pool first: the 1x1 conv then runs on a quarter of the pixels.
      shortcut = conv(1, "shortcut", downsample(x))
    elif self.down or x.shape[-1] != self.features:
      shortcut = conv(1, "shortcut", x)
    if self.down:
      h = downsample(h)
      shortcut = shortcut if self.first else downsample(shortcut)
    return h + shortcut


class ResNetGenerator(nn.Module):
  """Latents `[batch, latent_dim]` -> images `[batch, *data_shape]` in [-1, 1]; `base =
  size / 2**len(features)`. `attention_resolution` puts a SAGAN block after the blocks'
  output of that size. `batch_norm_axis`: the device axis whose batches BatchNorm
  normalises over together (None: each device its own)."""
  data_shape: Sequence[int]
  features: Sequence[int] = (256, 256, 256)
  num_classes: int = 0
  attention_resolution: int = 0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    size, _, channels = self.data_shape
    x = latent_maps(latents, labels, num_classes=self.num_classes, size=size,
                    doublings=len(self.features), features=self.features[0], kernel_init=_init)
    check_attention_resolution(self.attention_resolution,
                               [x.shape[1] * 2 ** (i + 1) for i in range(len(self.features))],
                               "The sngan generator")
    for width in self.features:
      x = _UpBlock(width, self.batch_norm_axis)(x, train=train)
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention()(x, train=train)
    x = nn.relu(batch_norm(train, self.batch_norm_axis)(x))
    return jnp.tanh(_conv(channels)(x))


class ResNetDiscriminator(nn.Module):
  """Images `[batch, h, w, c]` -> logits `[batch]`; the first `num_down` blocks halve the
  size. `attention_resolution` puts a SAGAN block after the block output of that size."""
  features: Sequence[int] = (128, 128, 128, 128)
  num_down: int = 2
  spectral_norm: bool = True
  num_classes: int = 0
  attention_resolution: int = 0

  @nn.compact
  def __call__(self, images: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    sizes = [images.shape[1] // 2 ** min(i + 1, self.num_down) for i in range(len(self.features))]
    check_attention_resolution(self.attention_resolution, sizes, "The sngan discriminator")
    x = images
    for i, width in enumerate(self.features):
      x = _DownBlock(width, down=i < self.num_down, first=i == 0,
                     spectral_norm=self.spectral_norm)(x, train=train)
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention(spectral_norm=self.spectral_norm)(x, train=train)
    features = jnp.sum(nn.relu(x), axis=(1, 2))
    logits = maybe_spectral_norm(nn.Dense(1, kernel_init=_init), features,
                                 spectral_norm=self.spectral_norm, train=train)
    return logits[:, 0] + projection(features, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  features = generator_kwargs.get("features", ResNetGenerator.features)
  check_square_image("sngan", data_shape, features)

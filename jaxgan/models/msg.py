"""MSG-GAN (Karnewar & Wang 2020): multi-scale gradients between one G and one D.

G makes an image at every scale, from `base x base` up to the full size, each by a
1x1 "to image" convolution of its block's features, and returns them all (smallest
first). D takes such a pyramid and brings each scale in at the depth whose maps have
that size, combined with the features there by `combine`: `"cat"` concatenates the
image to the features (the paper's phi_simple), `"lin_cat"` a 1x1 convolution of it
(phi_lin_cat). Given a plain image batch, D makes the pyramid itself by 2x2 average
pooling, which is what `real_pyramid` does to real batches in the train step, so that
gradient penalties take the gradient with respect to every scale.

Blocks follow the paper's ProGAN-style layers: 3x3 convolutions, LeakyReLU(0.2),
pixel norm in G, nearest-neighbour upsampling and average-pool downsampling.
"""

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.errors import ConfigError
from jaxgan.models.attention import SelfAttention
from jaxgan.models.common import (
  batch_stddev_feature,
  check_attention_resolution,
  check_square_image,
  downsample,
  latent_maps,
  pixel_norm,
  projection,
  upsample,
)

Array = jax.Array
Pyramid = tuple[Array, ...]  # Images `[batch, s, s, c]`, smallest `s` first, doubling.
COMBINE = ("cat", "lin_cat")


def real_pyramid(images: Array, num_scales: int) -> Pyramid:
  """Images `[batch, s, s, c]` and their 2x2 average poolings: `num_scales` images, smallest
  first."""
  pyramid = [images]
  for _ in range(num_scales - 1):
    pyramid.append(downsample(pyramid[-1]))
  return tuple(reversed(pyramid))


class MSGGenerator(nn.Module):
  """Latents `[batch, latent_dim]` -> a pyramid of `len(features)` images in [-1, 1], from
  `size / 2**(len(features) - 1)` to `data_shape`. `features[i]` is the width at scale i."""
  data_shape: Sequence[int]
  features: Sequence[int] = (256, 256, 128, 64)
  num_classes: int = 0
  attention_resolution: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Pyramid:
    del train  # No BatchNorm.
    size, _, channels = self.data_shape
    x = latent_maps(latents, labels, num_classes=self.num_classes, size=size,
                    doublings=len(self.features) - 1, features=self.features[0])
    check_attention_resolution(self.attention_resolution,
                               [x.shape[1] * 2 ** i for i in range(len(self.features))],
                               "The msg generator")
    pyramid = []
    for i, width in enumerate(self.features):
      if i:
        x = upsample(x)
      for _ in range(2):
        x = pixel_norm(nn.leaky_relu(nn.Conv(width, (3, 3))(x), 0.2))
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention()(x)
      pyramid.append(jnp.tanh(nn.Conv(channels, (1, 1), name=f"to_image_{i}")(x)))
    return tuple(pyramid)


class MSGDiscriminator(nn.Module):
  """A pyramid (or full-size images `[batch, s, s, c]`) -> logits `[batch]`. `features[i]`
  is the width of the block working at the i-th largest scale; there are as many scales
  as entries. `minibatch_stddev=4` adds the batch's standard deviation (groups of 4) as a
  feature at the smallest scale, as the paper's D does."""
  features: Sequence[int] = (64, 128, 256, 256)
  combine: str = "lin_cat"
  num_classes: int = 0
  attention_resolution: int = 0
  minibatch_stddev: int = 0

  @nn.compact
  def __call__(self, samples: Pyramid | Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train  # No BatchNorm.
    if self.combine not in COMBINE:
      raise ConfigError(f"Unknown combine {self.combine!r} for msg. Known: {', '.join(COMBINE)}.")
    pyramid = samples if isinstance(samples, (tuple, list)) else real_pyramid(
        samples, len(self.features))
    if len(pyramid) != len(self.features):
      raise ConfigError(f"The msg discriminator has {len(self.features)} scales "
                        f"(discriminator.features) but G makes {len(pyramid)}; give both as "
                        f"many entries.")
    check_attention_resolution(self.attention_resolution, [p.shape[1] for p in pyramid],
                               "The msg discriminator")
    x = nn.leaky_relu(nn.Conv(self.features[0], (1, 1), name="from_image")(pyramid[-1]), 0.2)
    for i, width in enumerate(self.features):
      image = pyramid[-1 - i]
      if i:
        if self.combine == "lin_cat":
          image = nn.Conv(image.shape[-1], (1, 1), name=f"combine_{i}")(image)
        x = jnp.concatenate([x, image], axis=-1)
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention()(x)
      if i == len(self.features) - 1:
        x = batch_stddev_feature(x, self.minibatch_stddev)
      x = nn.leaky_relu(nn.Conv(width, (3, 3))(x), 0.2)
      if i < len(self.features) - 1:
        x = downsample(nn.leaky_relu(nn.Conv(width, (3, 3))(x), 0.2))
    x = nn.leaky_relu(nn.Conv(self.features[-1], x.shape[1:3], padding="VALID")(x), 0.2)
    x = x.reshape(x.shape[0], -1)
    return nn.Dense(1)(x)[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  features = generator_kwargs.get("features", MSGGenerator.features)
  check_square_image("msg", data_shape, features[1:])


def real_inputs(generator_kwargs: dict) -> Callable[[Array], Pyramid]:
  """What D is given for a real batch: its pyramid at the generator's scales."""
  num_scales = len(generator_kwargs.get("features", MSGGenerator.features))
  return lambda images: real_pyramid(images, num_scales)

"""Progressive growing (Karras et al. 2018): G and D that train from low resolution up.

Phase k of `len(features)` trains the resolution `base * 2**k` (`base = size /
2**(len(features) - 1)`, 4 for 16x16 with three entries). Its new layers, G's last
block and "to image" convolution and D's first block and "from image" convolution,
fade in with weight `alpha` against the previous phase's path (images or features
from the resolution below). jaxgan.growth says when; this module says how.

Both models hold every phase's layers from `init` on, so parameters and optimizer
state keep one structure through training; a layer's parameters get no gradient
until its phase. Images stay full size in every phase (see jaxgan.growth).

G trains at the `phase` and `alpha` it is given and remembers them (in `batch_stats`,
as the paper's code keeps its level of detail in the network); in inference it draws
at the phase and alpha it last trained at, so sampling needs neither. Without them,
both models run fully grown.

Layers follow the paper: 3x3 convolutions, LeakyReLU(0.2), pixel norm in G, minibatch
standard deviation in D, He initialisation, and `equalized_lr` (weights drawn from
N(0, 1) and scaled by He's constant at run time, so each layer's effective step size
under Adam is the same). Outputs go through tanh, like every jaxgan generator.
"""

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import ConfigError
from jaxgan.growth import lerp, resize
from jaxgan.models.common import (
  batch_stddev_feature,
  check_square_image,
  pixel_norm,
  projection,
  with_labels,
)

Array = jax.Array
_SQRT2 = float(np.sqrt(2.0))


def _he_layer(layer: type[nn.Module], features: int, *, equalized: bool, name: str,
              gain: float = _SQRT2, **kwargs) -> Callable[[Array], Array]:
  """`layer(features, **kwargs)` with He's standard deviation `gain / sqrt(fan_in)`: in its
  initial weights, or with `equalized` as a scale on weights drawn from N(0, 1), applied at
  run time (to the input, which is the same for a linear layer). The two compute the same
  function at `init`; they differ in how an optimizer's steps move it."""
  if not equalized:
    init = nn.initializers.variance_scaling(gain ** 2, "fan_in", "normal")
    return layer(features, kernel_init=init, name=name, **kwargs)
  module = layer(features, kernel_init=nn.initializers.normal(1.0), name=name, **kwargs)
  fan_in = lambda x: np.prod(kwargs.get("kernel_size", ())) * x.shape[-1]  # noqa: E731
  return lambda x: module(x * (gain / np.sqrt(fan_in(x))))


def _lrelu(x: Array) -> Array:
  return nn.leaky_relu(x, 0.2)


def _check_phase(phase: int | None, num_phases: int, model: str) -> int:
  """`phase`, or the last one if None."""
  phase = num_phases - 1 if phase is None else phase
  if not 0 <= phase < num_phases:
    raise ValueError(f"The {model} has {num_phases} phases; got phase={phase}.")
  return phase


class ProgressiveGenerator(nn.Module):
  """Latents `[batch, latent_dim]` -> images `[batch, *data_shape]` in [-1, 1], made at the
  phase's resolution and enlarged to full size. `features[i]` is the width at phase i's
  resolution, smallest first."""
  data_shape: Sequence[int]
  features: Sequence[int] = (256, 256, 128, 64)
  num_classes: int = 0
  equalized_lr: bool = True

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *, train: bool = True,
               phase: int | None = None, alpha: Array | float = 1.0) -> Array:
    num_phases = len(self.features)
    size, _, channels = self.data_shape
    trained_phase = self.variable("batch_stats", "phase",
                                  lambda: jnp.full((), num_phases - 1, jnp.float32))
    trained_alpha = self.variable("batch_stats", "alpha", lambda: jnp.ones((), jnp.float32))
    if train:
      phase = _check_phase(phase, num_phases, "progressive generator")
      trained_phase.value = jnp.full((), phase, jnp.float32)
      trained_alpha.value = jnp.asarray(alpha, jnp.float32)
    else:  # Every phase's images, then the one of the phase last trained.
      phase, alpha = num_phases - 1, trained_alpha.value

    layer = lambda cls, x, features, name, **kw: _lrelu(_he_layer(  # noqa: E731
        cls, features, equalized=self.equalized_lr, name=name, **kw)(x))
    base = size // 2 ** (num_phases - 1)
    x = pixel_norm(with_labels(latents, labels, self.num_classes))
    x = pixel_norm(layer(nn.Dense, x, base * base * self.features[0], "dense"))
    x = x.reshape(-1, base, base, self.features[0])
    images = []  # Each phase's "to image" output at its own resolution.
    for i, width in enumerate(self.features[:phase + 1]):
      if i:
        x = resize(x, x.shape[1] * 2)
      for j in range(1 if i == 0 else 2):
        x = pixel_norm(layer(nn.Conv, x, width, f"block{i}_conv{j}", kernel_size=(3, 3)))
      if i >= phase - 1 or not train:
        images.append(jnp.tanh(_he_layer(nn.Conv, channels, equalized=self.equalized_lr,
                                         gain=1.0, name=f"to_image_{i}", kernel_size=(1, 1))(x)))
    if train:
      return resize(_faded(images[-2:], alpha), size)
    every_phase = jnp.stack([resize(_faded(images[max(k - 1, 0):k + 1], alpha), size)
                             for k in range(num_phases)])
    return every_phase[trained_phase.value.astype(jnp.int32)]


def _faded(images: list[Array], alpha: Array | float) -> Array:
  """The last of one or two images, faded in over the first enlarged to its size."""
  if len(images) == 1 or (isinstance(alpha, float) and alpha == 1.0):
    return images[-1]
  return lerp(resize(images[0], images[1].shape[1]), images[1], alpha)


class ProgressiveDiscriminator(nn.Module):
  """Images `[batch, s, s, c]` -> logits `[batch]`, judged at the phase's resolution.
  `features[i]` is the width of the block at the i-th largest resolution (largest first);
  `minibatch_stddev` is the group size of the standard-deviation feature before the last
  block (0: none)."""
  features: Sequence[int] = (64, 128, 256, 256)
  num_classes: int = 0
  minibatch_stddev: int = 4
  equalized_lr: bool = True

  @nn.compact
  def __call__(self, images: Array, labels: Array | None = None, *, train: bool = True,
               phase: int | None = None, alpha: Array | float = 1.0) -> Array:
    del train  # No BatchNorm.
    num_phases = len(self.features)
    phase = _check_phase(phase, num_phases, "progressive discriminator")
    size = images.shape[1]
    layer = lambda cls, x, features, name, **kw: _lrelu(_he_layer(  # noqa: E731
        cls, features, equalized=self.equalized_lr, name=name, **kw)(x))
    from_image_layers = [_he_layer(nn.Conv, width, equalized=self.equalized_lr,
                                   name=f"from_image_{i}", kernel_size=(1, 1))
                         for i, width in enumerate(self.features)]
    from_image = lambda i: _lrelu(from_image_layers[i](resize(images, size >> i)))  # noqa: E731
    if self.is_initializing():  # Every phase's input layer, so the parameters never change.
      for i in range(num_phases):
        from_image(i)

    first = num_phases - 1 - phase  # The block at this phase's resolution.
    x = from_image(first)
    for i in range(first, num_phases - 1):
      width = self.features[i]
      x = layer(nn.Conv, x, width, f"block{i}_conv0", kernel_size=(3, 3))
      x = layer(nn.Conv, x, self.features[i + 1], f"block{i}_conv1", kernel_size=(3, 3))
      x = resize(x, x.shape[1] // 2)
      if i == first:
        x = _faded([from_image(i + 1), x], alpha) if phase else x

    last = num_phases - 1
    x = batch_stddev_feature(x, self.minibatch_stddev)
    x = layer(nn.Conv, x, self.features[-1], f"block{last}_conv0", kernel_size=(3, 3))
    x = layer(nn.Conv, x, self.features[-1], f"block{last}_conv1", kernel_size=x.shape[1:3],
              padding="VALID")
    x = x.reshape(x.shape[0], -1)
    logits = _he_layer(nn.Dense, 1, equalized=self.equalized_lr, gain=1.0, name="logit")(x)
    return logits[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  check_square_image("progressive", data_shape,
                     generator_kwargs.get("features", ProgressiveGenerator.features)[1:])


def num_phases(generator_kwargs: dict, discriminator_kwargs: dict) -> int:
  """The phases of a progressive pair: one per entry of `features`, the same in G and D."""
  g = len(generator_kwargs.get("features", ProgressiveGenerator.features))
  d = len(discriminator_kwargs.get("features", ProgressiveDiscriminator.features))
  if g != d:
    raise ConfigError(f"The progressive generator grows through {g} resolutions "
                      f"(generator.features) and the discriminator through {d}; give both as "
                      f"many entries.")
  return g

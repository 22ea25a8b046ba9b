"""Generators and discriminators (Flax linen), and a registry of named model pairs.

Every generator maps latents `[batch, latent_dim]` to samples `[batch, *data_shape]`
in `[-1, 1]` (or unbounded, for `output_activation="identity"`); every
discriminator maps samples to logits `[batch]`, never probabilities.
Both take `train` to switch BatchNorm between batch and running statistics.

With `num_classes > 0` both are class-conditional and take integer `labels [batch]`
after their first argument: G appends the one-hot label to its latent (Mirza &
Osindero 2014), D adds a projection term `<embed(label), features>` to its logit
(Miyato & Koyama 2018).
"""

import math
from typing import Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers
from jaxgan.errors import ConfigError
from jaxgan.registry import Registry

Array = jax.Array

# Radford et al. 2015: weights from N(0, 0.02), BatchNorm scale from N(1, 0.02).
_dcgan_init = nn.initializers.normal(0.02)


def _dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _batch_norm(train: bool) -> nn.BatchNorm:
  # momentum 0.9 is PyTorch's BatchNorm default (its momentum=0.1).
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      scale_init=_dcgan_scale_init)


def _maybe_spectral_norm(layer: nn.Module, x: Array, *, spectral_norm: bool,
                         train: bool) -> Array:
  """`layer(x)`, with the layer's kernel spectrally normalised (Miyato et al. 2018) if asked;
  the power-iteration state lives in the `batch_stats` collection."""
  if spectral_norm:
    return nn.SpectralNorm(layer)(x, update_stats=train)
  return layer(x)


def _with_labels(latents: Array, labels: Array | None, num_classes: int) -> Array:
  """`[batch, latent_dim]` latents, with the one-hot labels appended when conditional."""
  if not num_classes:
    return latents
  if labels is None:
    raise ValueError(f"This generator is conditional on {num_classes} classes: pass labels.")
  return jnp.concatenate([latents, jax.nn.one_hot(labels, num_classes, dtype=latents.dtype)], -1)


def _projection(features: Array, labels: Array | None, num_classes: int) -> Array:
  """The class term of a projection discriminator, `<embed(labels), features>` `[batch]` for
  features `[batch, ...]` (0 when unconditional)."""
  if not num_classes:
    return jnp.zeros(features.shape[:1], features.dtype)
  if labels is None:
    raise ValueError(f"This discriminator is conditional on {num_classes} classes: pass labels.")
  features = features.reshape(features.shape[0], -1)
  embedding = nn.Embed(num_classes, features.shape[-1], name="class_embedding")(labels)
  return jnp.sum(embedding * features, axis=-1)


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"tanh": jnp.tanh, "identity": lambda x: x}


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
    x = _with_labels(latents, labels, self.num_classes)
    for width in self.hidden_dims:
      x = nn.leaky_relu(nn.Dense(width)(x), 0.2)
    x = nn.Dense(math.prod(self.data_shape))(x)
    x = _ACTIVATIONS[self.output_activation](x)
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
    dense = lambda width, x: _maybe_spectral_norm(  # noqa: E731
        nn.Dense(width), x, spectral_norm=self.spectral_norm, train=train)
    x = samples.reshape(samples.shape[0], -1)
    for width in self.hidden_dims:
      x = nn.leaky_relu(dense(width, x), 0.2)
    return dense(1, x)[:, 0] + _projection(x, labels, self.num_classes)


class DCGANGenerator(nn.Module):
  """Radford et al. 2015: project to `base x base x features[0]`, then stride-2 4x4
  transposed convolutions with BatchNorm + ReLU, doubling the size each time, and a
  last one to the image channels with tanh. `base = size / 2**len(features)`:
  64x64 with `features=(512, 256, 128, 64)` is the paper's model, 28x28 with
  `(128, 64)` starts from 7x7.
  """
  data_shape: Sequence[int]
  features: Sequence[int] = (256, 128, 64)
  use_bias: bool = False
  num_classes: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    size, _, channels = self.data_shape
    base = size // 2 ** len(self.features)
    # A dense layer on the latent is the paper's 4x4 transposed conv on a 1x1 input.
    x = nn.Dense(base * base * self.features[0], use_bias=self.use_bias,
                 kernel_init=_dcgan_init)(_with_labels(latents, labels, self.num_classes))
    x = x.reshape(-1, base, base, self.features[0])
    x = nn.relu(_batch_norm(train)(x))
    for width in self.features[1:]:
      x = layers.ConvTranspose(width, use_bias=self.use_bias, kernel_init=_dcgan_init)(x)
      x = nn.relu(_batch_norm(train)(x))
    x = layers.ConvTranspose(channels, use_bias=self.use_bias, kernel_init=_dcgan_init)(x)
    return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
  """Stride-2 4x4 convolutions with LeakyReLU(0.2), BatchNorm on all but the first
  (when `batch_norm`), and a last `base x base` convolution to one logit.
  The paper's model is `batch_norm=True, use_bias=False`; on tiny data sets a
  discriminator with biases and no BatchNorm trains better (see configs/default.py).
  `spectral_norm=True` normalises every convolution (SNGAN; usually without BatchNorm).
  """
  features: Sequence[int] = (64, 128, 256)
  batch_norm: bool = True
  use_bias: bool = False
  spectral_norm: bool = False
  num_classes: int = 0

  @nn.compact
  def __call__(self, images: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    conv = lambda layer, x: _maybe_spectral_norm(  # noqa: E731
        layer, x, spectral_norm=self.spectral_norm, train=train)
    x = images
    for i, width in enumerate(self.features):
      x = conv(layers.Conv(width, use_bias=self.use_bias, kernel_init=_dcgan_init), x)
      if self.batch_norm and i > 0:
        x = _batch_norm(train)(x)
      x = nn.leaky_relu(x, 0.2)
    logits = conv(nn.Conv(1, x.shape[1:3], padding="VALID", use_bias=self.use_bias,
                          kernel_init=_dcgan_init), x)
    return logits.reshape(-1) + _projection(x, labels, self.num_classes)


class ModelPair(NamedTuple):
  """The generator and discriminator classes of one architecture.

  `check_data_shape(data_shape, generator_kwargs)` raises ValueError if the
  generator cannot produce samples of that shape.
  """
  generator: type[nn.Module]
  discriminator: type[nn.Module]
  check_data_shape: Callable[[Sequence[int], dict], None]


def _check_any_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del data_shape, generator_kwargs


def _check_dcgan_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  features = generator_kwargs.get("features", DCGANGenerator.features)
  if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
    raise ConfigError(f"dcgan makes square images [size, size, channels]; the data has shape "
                     f"{tuple(data_shape)}. Use a 'mlp' model for non-image data.")
  factor = 2 ** len(features)
  if data_shape[0] % factor or data_shape[0] < factor:
    raise ConfigError(
        f"dcgan with generator.features={tuple(features)} doubles the size "
        f"{len(features)} times, so it makes sizes that are multiples of {factor}; the data "
        f"is {data_shape[0]}x{data_shape[0]}. Change image_size or generator.features "
        f"(e.g. 2 entries for 16 or 28, 3 for 32, 4 for 64).")


MODELS = Registry("model", {
    "mlp": ModelPair(MLPGenerator, MLPDiscriminator, _check_any_shape),
    "dcgan": ModelPair(DCGANGenerator, DCGANDiscriminator, _check_dcgan_shape),
})


def get(name: str) -> ModelPair:
  """The `ModelPair` registered as `name`, or `"module:attribute"` for your own."""
  return MODELS.get(name)

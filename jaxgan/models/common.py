"""Pieces every model family shares: initialisers, BatchNorm, spectral norm, and class
conditioning (one-hot latents for G, a projection term for D)."""

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.errors import ConfigError

Array = jax.Array

# Radford et al. 2015: weights from N(0, 0.02), BatchNorm scale from N(1, 0.02).
dcgan_init = nn.initializers.normal(0.02)


def _dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def batch_norm(train: bool, axis_name: str | None = None, *,
               name: str | None = None) -> nn.BatchNorm:
  """BatchNorm normalising with the statistics of this device's batch, or with those of
  every device along `axis_name` (cross-replica BatchNorm)."""
  # momentum 0.9 is PyTorch's BatchNorm default (its momentum=0.1).
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      scale_init=_dcgan_scale_init, axis_name=axis_name, name=name)


def image_norm(kind: str, train: bool, axis_name: str | None = None) -> Callable[[Array], Array]:
  """The normalisation of the translation models: `"batch"` (`batch_norm`), `"instance"`
  (each image's own statistics, no learned scale or shift: PyTorch's `InstanceNorm2d`
  default) or `"none"`."""
  if kind == "batch":
    return batch_norm(train, axis_name)
  if kind == "instance":
    return nn.InstanceNorm(epsilon=1e-5, use_scale=False, use_bias=False)
  if kind == "none":
    return lambda x: x
  raise ConfigError(f"Unknown norm {kind!r}. Known: batch, instance, none.")


def maybe_spectral_norm(layer: nn.Module, x: Array, *, spectral_norm: bool,
                        train: bool) -> Array:
  """`layer(x)`, with the layer's kernel spectrally normalised (Miyato et al. 2018) if asked;
  the power-iteration state lives in the `batch_stats` collection."""
  if spectral_norm:
    return nn.SpectralNorm(layer)(x, update_stats=train)
  return layer(x)


def with_labels(latents: Array, labels: Array | None, num_classes: int) -> Array:
  """`[batch, latent_dim]` latents, with the one-hot labels appended when conditional."""
  if not num_classes:
    return latents
  if labels is None:
    raise ValueError(f"This generator is conditional on {num_classes} classes: pass labels.")
  return jnp.concatenate([latents, jax.nn.one_hot(labels, num_classes, dtype=latents.dtype)], -1)


def latent_maps(latents: Array, labels: Array | None, *, num_classes: int, size: int,
                doublings: int, features: int, **dense_kwargs) -> Array:
  """A dense layer from latents `[batch, latent_dim]` (with the one-hot labels when
  conditional) to maps `[batch, base, base, features]`, `base = size / 2**doublings`:
  a generator's first layer. Call it inside a module's compact method."""
  base = size // 2 ** doublings
  x = nn.Dense(base * base * features, **dense_kwargs)(with_labels(latents, labels, num_classes))
  return x.reshape(-1, base, base, features)


def projection(features: Array, labels: Array | None, num_classes: int) -> Array:
  """The class term of a projection discriminator, `<embed(labels), features>` `[batch]` for
  features `[batch, ...]` (0 when unconditional)."""
  if not num_classes:
    return jnp.zeros(features.shape[:1], features.dtype)
  if labels is None:
    raise ValueError(f"This discriminator is conditional on {num_classes} classes: pass labels.")
  features = features.reshape(features.shape[0], -1)
  embedding = nn.Embed(num_classes, features.shape[-1], name="class_embedding")(labels)
  return jnp.sum(embedding * features, axis=-1)


# Both resamplings below are written as strided slices and interior padding, each the
# other's transpose, rather than as reductions: XLA:CPU fuses a reduction with the
# convolution that produces its input into one slower library call (sngan32's step spent
# 0.6 s of 3.6 s in one such fusion).


def upsample(x: Array) -> Array:
  """Maps `[batch, h, w, c]` -> `[batch, 2h, 2w, c]`, nearest neighbour."""
  zero = jnp.zeros((), x.dtype)
  return sum(lax.pad(x, zero, ((0, 0, 0), (a, 1 - a, 1), (b, 1 - b, 1), (0, 0, 0)))
             for a in (0, 1) for b in (0, 1))


def downsample(x: Array) -> Array:
  """Maps `[batch, h, w, c]` -> `[batch, h // 2, w // 2, c]`, 2x2 average pooling."""
  n, h, w, c = x.shape
  corners = [lax.slice(x, (0, a, b, 0), (n, a + h - h % 2 - 1, b + w - w % 2 - 1, c),
                       (1, 2, 2, 1)) for a in (0, 1) for b in (0, 1)]
  return sum(corners) / 4


def pixel_norm(x: Array) -> Array:
  """Karras et al. 2018: each position's feature vector `[..., c]` scaled to unit mean square."""
  return x * jax.lax.rsqrt(jnp.mean(x ** 2, axis=-1, keepdims=True) + 1e-8)


def batch_stddev_feature(x: Array, group_size: int) -> Array:
  """Karras et al. 2018: features `[batch, ..., c]` (maps `[batch, h, w, c]`, or vectors
  `[batch, c]`) with one more channel, the standard deviation of each feature over a group
  of `group_size` samples (samples `i`, `i + batch / group_size`, ...), averaged over
  features and positions: D sees how varied the batch is, and a collapsed G shows.
  `group_size=0` returns `x` unchanged."""
  if not group_size:
    return x
  batch = x.shape[0]
  group = min(group_size, batch)
  if batch % group:
    raise ConfigError(f"minibatch_stddev={group_size} must divide the batch each device "
                      f"sees ({batch}); change one of them.")
  groups = x.reshape(group, batch // group, *x.shape[1:])
  stddev = jnp.sqrt(jnp.var(groups, axis=0) + 1e-8)
  stddev = jnp.tile(stddev.reshape(batch // group, -1).mean(axis=1), group)  # [batch]
  stddev = jnp.broadcast_to(stddev.reshape(batch, *[1] * (x.ndim - 1)), (*x.shape[:-1], 1))
  return jnp.concatenate([x, stddev.astype(x.dtype)], axis=-1)


class MinibatchDiscrimination(nn.Module):
  """Salimans et al. 2016: features `[batch, a]` -> `[batch, a + num_kernels]`. Each of
  `num_kernels` learned projections maps a sample to `kernel_dim` numbers; the new
  feature k of sample i is `sum_{j != i} exp(-|M_ik - M_jk|_1)`, how close the batch's
  other samples are to it there, so D sees a batch of near-copies. Under pmap the batch
  is the device's share, as for BatchNorm."""
  num_kernels: int
  kernel_dim: int = 5

  @nn.compact
  def __call__(self, x: Array) -> Array:
    projected = nn.Dense(self.num_kernels * self.kernel_dim, use_bias=False,
                         kernel_init=nn.initializers.normal(0.1))(x)
    projected = projected.reshape(-1, self.num_kernels, self.kernel_dim)
    distances = jnp.sum(jnp.abs(projected[:, None] - projected[None, :]), axis=-1)  # [b, b, k]
    closeness = jnp.sum(jnp.exp(-distances), axis=1) - 1.0  # Less each sample's own exp(0).
    return jnp.concatenate([x, closeness], axis=-1)


def check_attention_resolution(resolution: int, sizes: list[int], model: str) -> None:
  """Raises ConfigError if `resolution` (0: no attention) is none of the feature-map `sizes`."""
  if resolution and resolution not in sizes:
    raise ConfigError(f"{model}: attention_resolution={resolution} matches none of its feature "
                      f"map sizes {sorted(set(sizes))}; use one of them, or 0 for no attention.")


def check_square_image(model: str, data_shape: Sequence[int], features: Sequence[int]) -> None:
  """Raises ConfigError unless a generator that doubles its maps once per entry of
  `features` can make images of `data_shape`."""
  if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
    raise ConfigError(f"{model} makes square images [size, size, channels]; the data has shape "
                      f"{tuple(data_shape)}. Use a 'mlp' model for non-image data.")
  factor = 2 ** len(features)
  if data_shape[0] % factor or data_shape[0] < factor:
    raise ConfigError(
        f"{model} with generator.features={tuple(features)} doubles the size "
        f"{len(features)} times, so it makes sizes that are multiples of {factor}; the data "
        f"is {data_shape[0]}x{data_shape[0]}. Change image_size or generator.features "
        f"(e.g. 2 entries for 16 or 28, 3 for 32, 4 for 64).")


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"tanh": jnp.tanh, "identity": lambda x: x}
HIDDEN_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2), "relu": nn.relu}

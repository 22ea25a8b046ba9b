"""WaveGAN (Donahue et al. 2019): DCGAN flattened to one dimension for raw audio.

G: latent -> dense `[base, 16d]` -> length-25, stride-4 transposed convolutions with ReLU,
each 4x longer and half as wide, the last to one channel with tanh. D mirrors it with
stride-4 convolutions and LeakyReLU(0.2), and shuffles the phase of every layer's
activations but the last: each clip's features are shifted by a random `-n..n` samples
(reflection padded), so D cannot judge a clip by the periodic artifacts that transposed
convolutions leave. The convolutions are `jaxgan.layers.StridedConv1D` (Flax's geometry,
computed without the dilated convolutions XLA:CPU runs slowly). `d` is the paper's model
size (64); lengths 4,096 and 8,192 take four layers (from 16 and 32 samples), 16,384 (the
paper's) five.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.errors import ConfigError
from jaxgan.layers import StridedConv1D
from jaxgan.models.common import projection, with_labels

Array = jax.Array
# The clip lengths the models make, and how many stride-4 layers each takes.
NUM_LAYERS = {4096: 4, 8192: 4, 16384: 5}
STRIDE = 4


def phase_shuffle(x: Array, rng: jax.Array, radius: int) -> Array:
  """Each clip's features `[batch, length, channels]` shifted in time by its own random
  integer in `[-radius, radius]`, the edges filled by reflection."""
  if not radius:
    return x
  shifts = jax.random.randint(rng, (x.shape[0],), -radius, radius + 1)
  padded = jnp.pad(x, ((0, 0), (radius, radius), (0, 0)), mode="reflect")
  positions = jnp.arange(x.shape[1])[None, :] + radius - shifts[:, None]  # out[t] = x[t - s]
  return jnp.take_along_axis(padded, positions[..., None], axis=1)


def _num_layers(length: int) -> int:
  if length not in NUM_LAYERS:
    raise ConfigError(f"WaveGAN makes clips of {', '.join(map(str, NUM_LAYERS))} samples; "
                      f"task_kwargs.length is {length}. Set --config.task_kwargs.length to one "
                      f"of them.")
  return NUM_LAYERS[length]


class WaveGANGenerator(nn.Module):
  """Latents `[batch, latent_dim]` -> clips `[batch, length, channels]` in [-1, 1]
  (`data_shape = (length, channels)`)."""
  data_shape: Sequence[int]
  dim: int = 64
  kernel_size: int = 25
  num_classes: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train  # No BatchNorm, as in the paper.
    length, channels = self.data_shape
    num_layers = _num_layers(length)
    width = self.dim * 2 ** (num_layers - 1)
    base = length // STRIDE ** num_layers
    x = nn.Dense(base * width)(with_labels(latents, labels, self.num_classes))
    x = nn.relu(x.reshape(-1, base, width))
    for i in range(num_layers):
      last = i == num_layers - 1
      x = StridedConv1D(channels if last else width // 2 ** (i + 1), self.kernel_size, STRIDE,
                        transposed=True)(x)
      x = jnp.tanh(x) if last else nn.relu(x)
    return x


class WaveGANDiscriminator(nn.Module):
  """Clips `[batch, length, channels]` -> logits `[batch]` (plus the projection term when
  conditional). Phase shuffle (`phase_shuffle` samples each way; the paper's 2) is on in
  training when the caller gives a `"noise"` key, as the training step does."""
  dim: int = 64
  kernel_size: int = 25
  phase_shuffle: int = 2
  num_classes: int = 0

  @nn.compact
  def __call__(self, clips: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    num_layers = _num_layers(clips.shape[1])
    shuffle = train and self.phase_shuffle and self.has_rng("noise")
    x = clips
    for i in range(num_layers):
      x = StridedConv1D(self.dim * 2 ** i, self.kernel_size, STRIDE)(x)
      x = nn.leaky_relu(x, 0.2)
      if shuffle and i < num_layers - 1:
        x = phase_shuffle(x, self.make_rng("noise"), self.phase_shuffle)
    x = x.reshape(x.shape[0], -1)
    return nn.Dense(1)(x)[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del generator_kwargs
  if len(data_shape) != 2:
    raise ConfigError(f"The wavegan model makes clips [length, channels]; the data has samples "
                      f"of shape {tuple(data_shape)}. Use it with audio (configs/wavegan_*.py).")
  _num_layers(data_shape[0])

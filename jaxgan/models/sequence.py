"""Character-level GAN over fixed-length sequences (Gulrajani et al. 2017, the WGAN-GP
language model): residual 1-D convolutions in G and D, one-hot characters in between.

G maps latents to logits `[batch, length, vocabulary]` and emits one-hot characters
through the straight-through estimator, a Gumbel-softmax sample (hard or relaxed), or the
plain softmax of the paper (jaxgan.models.discrete). D reads one-hot (or soft) sequences.
"""

from typing import Callable, Sequence

import flax.linen as nn
import jax

from jaxgan.errors import ConfigError
from jaxgan.models import discrete
from jaxgan.models.common import projection, with_labels

Array = jax.Array
OUTPUTS = ("straight_through", "gumbel_softmax", "gumbel_softmax_relaxed", "softmax")


class ResidualBlock1D(nn.Module):
  """`x + 0.3 * conv(relu(conv(relu(x))))` over `[batch, length, features]`."""
  features: int
  kernel_size: int = 5

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h = nn.Conv(self.features, (self.kernel_size,))(nn.relu(x))
    h = nn.Conv(self.features, (self.kernel_size,))(nn.relu(h))
    return x + 0.3 * h


class CharGenerator(nn.Module):
  """Latent -> dense `[length, features]` -> `num_blocks` residual blocks -> per-position
  logits over the vocabulary -> characters `[batch, length, vocabulary]` by `output`, one of
  `OUTPUTS` (Gumbel-softmax at `temperature`). `data_shape = (length, vocabulary)`."""
  data_shape: Sequence[int]
  features: int = 128
  num_blocks: int = 4
  kernel_size: int = 5
  output: str = "straight_through"
  temperature: float = 1.0
  num_classes: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train  # No BatchNorm.
    length, vocabulary = self.data_shape
    x = nn.Dense(length * self.features)(with_labels(latents, labels, self.num_classes))
    x = x.reshape(-1, length, self.features)
    for _ in range(self.num_blocks):
      x = ResidualBlock1D(self.features, self.kernel_size)(x)
    return self._characters(nn.Conv(vocabulary, (1,))(x))

  def _characters(self, logits: Array) -> Array:
    outputs: dict[str, Callable[[], Array]] = {
        "straight_through": lambda: discrete.one_hot_straight_through(logits),
        "gumbel_softmax": lambda: discrete.gumbel_softmax(
            logits, self.make_rng("noise"), temperature=self.temperature),
        "gumbel_softmax_relaxed": lambda: discrete.gumbel_softmax(
            logits, self.make_rng("noise"), temperature=self.temperature, hard=False),
        "softmax": lambda: nn.softmax(logits),
    }
    if self.output not in outputs:
      raise ConfigError(f"Unknown generator output {self.output!r}. Known: "
                        f"{', '.join(OUTPUTS)}.")
    return outputs[self.output]()


class CharDiscriminator(nn.Module):
  """Sequences `[batch, length, vocabulary]` -> 1x1 convolution to `features` ->
  `num_blocks` residual blocks -> flattened -> one logit (plus the projection term when
  conditional)."""
  features: int = 128
  num_blocks: int = 4
  kernel_size: int = 5
  num_classes: int = 0

  @nn.compact
  def __call__(self, sequences: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train
    x = nn.Conv(self.features, (1,))(sequences)
    for _ in range(self.num_blocks):
      x = ResidualBlock1D(self.features, self.kernel_size)(x)
    x = x.reshape(x.shape[0], -1)
    return nn.Dense(1)(x)[:, 0] + projection(x, labels, self.num_classes)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del generator_kwargs
  if len(data_shape) != 2:
    raise ConfigError(f"The char_resnet model makes sequences [length, vocabulary]; the data "
                      f"has samples of shape {tuple(data_shape)}. Use it with word data "
                      f"(configs/words_english.py).")

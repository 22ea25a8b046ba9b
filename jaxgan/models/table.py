"""The tabular generator of CTGAN (Xu et al. 2019), for rows encoded by jaxgan.tabular.

G's hidden layers are residual in CTGAN's way: each appends `relu(BatchNorm(dense(x)))` to
its input. Its last layer gives one output per span of the row layout: `tanh` for a
value, and for a mode or a category a one-hot through `output` (jaxgan.models.discrete):
hard Gumbel-softmax by default, the straight-through estimator, or CTGAN's relaxed
Gumbel-softmax. D is jaxgan's MLP discriminator (`mlp`), which packs rows for PacGAN.

Conditional (`num_classes` = the table's conditions): G appends the one-hot condition to
its latent, and the condition's column takes the condition's category (its other
categories' logits are masked), so every sample meets its condition exactly; CTGAN
instead adds a cross-entropy term to G's loss to teach it to.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from jaxgan import tabular
from jaxgan.errors import ConfigError
from jaxgan.models import discrete
from jaxgan.models.common import batch_norm, with_labels

Array = jax.Array
OUTPUTS = ("gumbel_softmax", "straight_through", "gumbel_softmax_relaxed")


class TableGenerator(nn.Module):
  """Latent -> residual dense layers `hidden_dims` -> rows `[batch, width]` laid out as
  `layout` (`(size, "value" | "one_hot")` spans). `condition_spans`: for each categorical
  column, `(offset, size, first condition id)` (jaxgan.tabular.Table)."""
  data_shape: Sequence[int]
  layout: Sequence[tuple[int, str]] = ()
  condition_spans: Sequence[tuple[int, int, int]] = ()
  hidden_dims: Sequence[int] = (256, 256)
  output: str = "gumbel_softmax"
  temperature: float = 0.2
  num_classes: int = 0

  @nn.compact
  def __call__(self, latents: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    if self.output not in OUTPUTS:
      raise ConfigError(f"Unknown generator output {self.output!r}. Known: {', '.join(OUTPUTS)}.")
    x = with_labels(latents, labels, self.num_classes)
    for width in self.hidden_dims:
      h = nn.Dense(width)(x)
      h = batch_norm(train)(h)
      x = jnp.concatenate([x, nn.relu(h)], axis=-1)
    logits = nn.Dense(self.data_shape[0])(x)
    if labels is not None:
      logits = self._conditioned(logits, jax.nn.one_hot(labels, self.num_classes))
    parts, offset = [], 0
    for size, kind in self.layout:
      part = logits[:, offset:offset + size]
      parts.append(jnp.tanh(part) if kind == "value" else self._one_hot(part))
      offset += size
    return jnp.concatenate(parts, axis=-1)

  def _conditioned(self, logits: Array, conditions: Array) -> Array:
    """`logits` with each categorical column fixed to its category when the condition is
    one of its categories."""
    for offset, size, first in self.condition_spans:
      asked = conditions[:, first:first + size]
      fixed = jnp.where(asked > 0, 0.0, -1e9)  # exp(-1e9) = 0: the asked category only.
      column = jnp.where(jnp.any(asked > 0, axis=-1, keepdims=True), fixed,
                         logits[:, offset:offset + size])
      logits = logits.at[:, offset:offset + size].set(column)
    return logits

  def _one_hot(self, logits: Array) -> Array:
    if self.output == "straight_through":
      return discrete.one_hot_straight_through(logits)
    return discrete.gumbel_softmax(logits, self.make_rng("noise"), temperature=self.temperature,
                                   hard=self.output == "gumbel_softmax")


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  """Raises ConfigError unless the data are rows `[width]` of a table."""
  del generator_kwargs
  if len(data_shape) != 1:
    raise ConfigError(f"The tabular model makes table rows; the data have shape "
                      f"{tuple(data_shape)}. Use a table dataset (a .csv file or "
                      f"'{tabular.STATSMODELS}NAME').")


def data_kwargs(config: ml_collections.ConfigDict) -> dict:
  """The generator's row layout and conditions, from the table the config trains on."""
  if not tabular.is_table_data(config.dataset):
    raise ConfigError(f"The tabular model makes table rows; dataset {config.dataset!r} is "
                      f"not a table (a .csv file or '{tabular.STATSMODELS}NAME').")
  table = tabular.from_config(config)
  return {"layout": table.layout, "condition_spans": table.condition_spans}

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
import numpy as np

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
      raise ConfigError(f"Unknown generator output {self.output!r}. Known: "
                        f"{', '.join(OUTPUTS)}.")
    x = with_labels(latents, labels, self.num_classes)
    for width in self.hidden_dims:
      h = nn.Dense(width)(x)
      h = batch_norm(train)(h)
      x = jnp.concatenate([x, nn.relu(h)], axis=-1)
    logits = nn.Dense(self.data_shape[0])(x)
    spans = _Spans(tuple(self.layout), tuple(self.condition_spans))
    if labels is not None:  # The asked category's column: every other category masked.
      asked = jnp.asarray(spans.condition_position)[labels]  # [batch]
      in_asked_column = jnp.asarray(spans.span_of)[asked][:, None] == spans.span_of
      logits = jnp.where(in_asked_column & (jnp.arange(logits.shape[1]) != asked[:, None]),
                         -1e9, logits)
    if not spans.gather.size:  # Values only.
      return jnp.tanh(logits)
    # Every one-hot span at once, padded to the longest: `[batch, spans, longest]`.
    padded = jnp.where(spans.valid, logits[:, spans.gather], -1e9)
    one_hots = self._one_hot(padded).reshape(logits.shape[0], -1)[:, spans.scatter]
    return jnp.where(spans.is_value, jnp.tanh(logits), one_hots)

  def _one_hot(self, logits: Array) -> Array:
    if self.output == "straight_through":
      return discrete.one_hot_straight_through(logits)
    return discrete.gumbel_softmax(logits, self.make_rng("noise"), temperature=self.temperature,
                                   hard=self.output == "gumbel_softmax")


class _Spans:
  """Index arrays (numpy, static) that take a row layout's one-hot spans out of a row and
  put them back, and that find the position of each condition's category."""

  def __init__(self, layout: tuple[tuple[int, str], ...],
               condition_spans: tuple[tuple[int, int, int], ...]):
    offsets = np.cumsum([0] + [size for size, _ in layout])[:-1]
    one_hot = [(offset, size) for offset, (size, kind) in zip(offsets, layout)
               if kind == "one_hot"]
    longest = max((size for _, size in one_hot), default=1)
    slots = np.arange(longest)
    self.gather = np.array([offset + np.minimum(slots, size - 1) for offset, size in one_hot]
                           ).reshape(-1, longest)  # [spans, longest]
    self.valid = np.array([slots < size for _, size in one_hot]).reshape(-1, longest)
    width = int(offsets[-1] + layout[-1][0]) if layout else 0
    self.is_value = np.ones(width, bool)
    self.span_of = np.full(width, -1)  # The one-hot span of each position, -1 for values.
    self.scatter = np.zeros(width, int)  # Its place in the flattened padded spans.
    for i, (offset, size) in enumerate(one_hot):
      self.is_value[offset:offset + size] = False
      self.span_of[offset:offset + size] = i
      self.scatter[offset:offset + size] = i * longest + np.arange(size)
    self.condition_position = np.array(
        [offset + k for offset, size, _ in condition_spans for k in range(size)], int)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  """Raises ConfigError unless the data are rows `[width]` of a table, whose layout the
  table task gives the generator."""
  if len(data_shape) != 1 or "layout" not in generator_kwargs:
    raise ConfigError(f"The tabular model makes table rows; the data have shape "
                      f"{tuple(data_shape)}. Train it on a table: task='table' with a .csv "
                      f"file or 'statsmodels:NAME' as the dataset.")

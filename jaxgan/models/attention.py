"""Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2019).

`y = x + gamma * o`, `o = W_v (sum_j softmax_j(f(x_i) . g(x_j)) h(x_j))`, with `f`, `g`
1x1 convolutions to `channels // 8` features, `h` to `channels // 2`, `W_v` back to
`channels`, and the learned scalar `gamma` starting at 0 so that the block begins as
the identity.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.common import maybe_spectral_norm

Array = jax.Array


class SelfAttention(nn.Module):
  """Feature maps `[batch, h, w, c]` -> the same shape, each position attending to all.
  `spectral_norm` normalises the four 1x1 convolutions, as SAGAN does in G and D."""
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: Array, *, train: bool = True) -> Array:
    batch, height, width, channels = x.shape

    def project(features: int, name: str, inputs: Array) -> Array:
      conv = nn.Conv(features, (1, 1), use_bias=False, name=name)
      out = maybe_spectral_norm(conv, inputs, spectral_norm=self.spectral_norm, train=train)
      return out.reshape(batch, height * width, features)

    query = project(max(channels // 8, 1), "query", x)  # f
    key = project(max(channels // 8, 1), "key", x)  # g
    value = project(max(channels // 2, 1), "value", x)  # h
    attention = jax.nn.softmax(jnp.einsum("bik,bjk->bij", query, key), axis=-1)
    attended = jnp.einsum("bij,bjv->biv", attention, value).reshape(batch, height, width, -1)
    out = maybe_spectral_norm(nn.Conv(channels, (1, 1), use_bias=False, name="output"),
                              attended, spectral_norm=self.spectral_norm, train=train)
    gamma = self.param("gamma", nn.initializers.zeros, ())
    return x + gamma * out

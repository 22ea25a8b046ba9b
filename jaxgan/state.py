"""The GAN's fixed definition (models, optimizers, loss, schedule) and its training state."""

import dataclasses
from typing import Any, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxgan.errors import ConfigError
from jaxgan.losses import GANLoss

SCHEDULES = ("alternating", "simultaneous")


@dataclasses.dataclass(frozen=True)
class GAN:
  """Everything about a GAN that training does not change.

  `schedule="alternating"` (the classic DCGAN loop): `n_critic` D updates, then a G
  update against the updated D. `"simultaneous"`: both gradients from one shared
  forward pass through G and D, then both updates; cheaper (no second D forward),
  but G's gradient comes from the D before its update.
  """
  generator: nn.Module
  discriminator: nn.Module
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  loss: GANLoss
  latent_dim: int
  n_critic: int = 1
  schedule: str = "alternating"

  def __post_init__(self):
    if self.schedule not in SCHEDULES:
      raise ConfigError(f"Unknown schedule {self.schedule!r}. Known: {', '.join(SCHEDULES)}.")
    if self.n_critic < 1:
      raise ConfigError(f"n_critic must be >= 1, got {self.n_critic}.")
    if self.schedule == "simultaneous" and self.n_critic != 1:
      raise ConfigError("The simultaneous schedule updates both players once per step; "
                       "set n_critic=1 or use schedule='alternating'.")


@flax.struct.dataclass
class Player:
  """One player's parameters, BatchNorm statistics (`{}` if none) and optimizer state."""
  params: Any
  batch_stats: Any
  opt_state: optax.OptState


@flax.struct.dataclass
class GANState:
  """The whole training state: a pytree that jit, pmap and orbax take as it is."""
  step: jax.Array
  g: Player
  d: Player


def sample_latents(gan: GAN, rng: jax.Array, num: int) -> jax.Array:
  """Standard normal latents `[num, latent_dim]`."""
  return jax.random.normal(rng, (num, gan.latent_dim))


def _init_player(module: nn.Module, optimizer: optax.GradientTransformation,
                 rng: jax.Array, example: jax.Array) -> Player:
  variables = module.init(rng, example, train=False)
  params = variables["params"]
  return Player(params=params, batch_stats=variables.get("batch_stats", {}),
                opt_state=optimizer.init(params))


def init_state(gan: GAN, rng: jax.Array, data_shape: Sequence[int]) -> GANState:
  """Fresh state for data samples of shape `data_shape` (without the batch axis)."""
  g_rng, d_rng = jax.random.split(rng)
  g = _init_player(gan.generator, gan.g_optimizer, g_rng, jnp.zeros((1, gan.latent_dim)))
  d = _init_player(gan.discriminator, gan.d_optimizer, d_rng, jnp.zeros((1, *data_shape)))
  return GANState(step=jnp.zeros((), jnp.int32), g=g, d=d)

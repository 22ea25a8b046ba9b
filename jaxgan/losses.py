"""Adversarial losses: pure functions of discriminator logits, and a registry of them.

Every function takes logits `[batch]` and returns a scalar, the mean over the
batch. A `GANLoss` pairs the discriminator's loss with the generator's; both
players minimise their own. `get(name, **kwargs)` builds one by name:

  loss = jaxgan.losses.get("non_saturating", real_label=0.9)
  d_loss = loss.discriminator(real_logits, fake_logits)
  g_loss = loss.generator(fake_logits)

A new loss is a factory returning a `GANLoss`: register it with
`LOSSES.register(name, factory)`, or name it in a config as
`"package.module:factory"` (a `GANLoss` instance works there too).
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxgan.errors import ConfigError
from jaxgan.registry import Registry

Array = jax.Array


class GANLoss(NamedTuple):
  """`discriminator(real_logits, fake_logits) -> scalar` and `generator(fake_logits) -> scalar`."""
  discriminator: Callable[[Array, Array], Array]
  generator: Callable[[Array], Array]


def _check_label(name: str, value: float) -> None:
  if not 0.0 < value <= 1.0:
    raise ConfigError(f"{name} must be in (0, 1], got {value}; 0.9 is one-sided label smoothing.")


def binary_discriminator_loss(real_logits: Array, fake_logits: Array, *,
                              real_label: float = 1.0) -> Array:
  """Cross-entropy of D as a real/fake classifier (Goodfellow et al. 2014).

  `mean BCE(real_logits, real_label) + mean BCE(fake_logits, 0)`, not halved;
  `real_label=0.9` is one-sided label smoothing (Salimans et al. 2016).

  Args:
    real_logits: `[batch]` logits of D on data.
    fake_logits: `[batch]` logits of D on generated samples.
    real_label: target probability for real samples.

  Returns:
    scalar loss.
  """
  real_loss = optax.sigmoid_binary_cross_entropy(
      real_logits, jnp.full_like(real_logits, real_label))
  fake_loss = optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits))
  return jnp.mean(real_loss) + jnp.mean(fake_loss)


def minimax_generator_loss(fake_logits: Array) -> Array:
  """Saturating G loss of the original game: `mean log(1 - D(G(z)))`, `[batch] -> scalar`."""
  # log(1 - sigmoid(x)) = log_sigmoid(-x)
  return jnp.mean(jax.nn.log_sigmoid(-fake_logits))


def non_saturating_generator_loss(fake_logits: Array) -> Array:
  """Non-saturating G loss: `mean -log D(G(z))`, `[batch] -> scalar` (Goodfellow et al. 2014)."""
  return -jnp.mean(jax.nn.log_sigmoid(fake_logits))


def minimax(*, real_label: float = 1.0) -> GANLoss:
  """The original minimax game, with the generator loss that saturates early in training."""
  _check_label("real_label", real_label)
  return GANLoss(functools.partial(binary_discriminator_loss, real_label=real_label),
                 minimax_generator_loss)


def non_saturating(*, real_label: float = 1.0) -> GANLoss:
  """The minimax discriminator with G maximising log D(G(z)) instead (the usual choice)."""
  _check_label("real_label", real_label)
  return GANLoss(functools.partial(binary_discriminator_loss, real_label=real_label),
                 non_saturating_generator_loss)


LOSSES: Registry[Callable[..., GANLoss]] = Registry("loss", {
    "minimax": minimax,
    "non_saturating": non_saturating,
})


def get(name: str, **kwargs) -> GANLoss:
  """The loss registered as `name` (or `"package.module:factory"`), built with `kwargs`."""
  entry = LOSSES.get(name)
  if isinstance(entry, GANLoss):
    if kwargs:
      raise ConfigError(f"Loss {name!r} is a fixed GANLoss and takes no arguments; got {kwargs}.")
    return entry
  if not callable(entry):
    raise ConfigError(f"Loss {name!r} must be a GANLoss or a function returning one, "
                     f"got {type(entry).__name__}.")
  try:
    loss = entry(**kwargs)
  except TypeError as e:
    raise ConfigError(f"Loss {name!r} does not accept arguments {kwargs}: {e}") from e
  if not isinstance(loss, GANLoss):
    raise ConfigError(f"Loss factory {name!r} must return a jaxgan.losses.GANLoss, "
                     f"got {type(loss).__name__}.")
  return loss

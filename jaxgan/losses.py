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

from jaxgan.errors import ConfigError, check_kwargs
from jaxgan.registry import Registry

Array = jax.Array


class GANLoss(NamedTuple):
  """`discriminator(real_logits, fake_logits) -> scalar` and `generator(fake_logits) -> scalar`.

  A loss whose generator term also compares with D on real data (the relativistic
  ones) sets `generator_uses_real` and takes `generator(fake_logits, real_logits)`.
  `outputs_are_logits`: D's outputs are logits of the probability that a sample is real
  (the cross-entropy losses); False for critics, whose outputs are scores.
  """
  discriminator: Callable[[Array, Array], Array]
  generator: Callable[..., Array]
  generator_uses_real: bool = False
  outputs_are_logits: bool = False


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
                 minimax_generator_loss, outputs_are_logits=True)


def non_saturating(*, real_label: float = 1.0) -> GANLoss:
  """The minimax discriminator with G maximising log D(G(z)) instead (the usual choice)."""
  _check_label("real_label", real_label)
  return GANLoss(functools.partial(binary_discriminator_loss, real_label=real_label),
                 non_saturating_generator_loss, outputs_are_logits=True)


def wasserstein_discriminator_loss(real_logits: Array, fake_logits: Array) -> Array:
  """WGAN critic loss (Arjovsky et al. 2017): `mean D(fake) - mean D(real)`, `[batch] -> scalar`.

  Needs a Lipschitz critic: weight clipping or a gradient penalty (jaxgan.regularizers).
  """
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def critic_generator_loss(fake_logits: Array) -> Array:
  """G loss of WGAN and the hinge loss: `-mean D(fake)`, `[batch] -> scalar`."""
  return -jnp.mean(fake_logits)


def hinge_discriminator_loss(real_logits: Array, fake_logits: Array) -> Array:
  """Hinge loss (Lim & Ye 2017; Miyato et al. 2018).

  `mean relu(1 - D(real)) + mean relu(1 + D(fake))`.

  Args:
    real_logits: `[batch]`.
    fake_logits: `[batch]`.

  Returns:
    scalar loss.
  """
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def least_squares_discriminator_loss(real_logits: Array, fake_logits: Array, *,
                                     a: float = 0.0, b: float = 1.0) -> Array:
  """LSGAN D loss (Mao et al. 2017): `0.5 mean (D(real) - b)^2 + 0.5 mean (D(fake) - a)^2`.

  Args:
    real_logits: `[batch]` raw outputs of D on data.
    fake_logits: `[batch]` raw outputs of D on samples.
    a: target for fake samples.
    b: target for real samples.

  Returns:
    scalar loss.
  """
  return 0.5 * jnp.mean((real_logits - b) ** 2) + 0.5 * jnp.mean((fake_logits - a) ** 2)


def least_squares_generator_loss(fake_logits: Array, *, c: float = 1.0) -> Array:
  """LSGAN G loss (Mao et al. 2017): `0.5 mean (D(fake) - c)^2`, `[batch] -> scalar`."""
  return 0.5 * jnp.mean((fake_logits - c) ** 2)


def _relativistic_terms(form: str, favoured: Array, other: Array) -> Array:
  """Mean loss for `favoured` to look more real than the average of `other`, and vice versa."""
  favoured_gap = favoured - jnp.mean(other)
  other_gap = other - jnp.mean(favoured)
  if form == "standard":
    return (jnp.mean(optax.sigmoid_binary_cross_entropy(favoured_gap, jnp.ones_like(favoured_gap)))
            + jnp.mean(optax.sigmoid_binary_cross_entropy(other_gap, jnp.zeros_like(other_gap))))
  return jnp.mean((favoured_gap - 1.0) ** 2) + jnp.mean((other_gap + 1.0) ** 2)


def relativistic_average_discriminator_loss(real_logits: Array, fake_logits: Array, *,
                                            form: str = "standard") -> Array:
  """RaGAN D loss (Jolicoeur-Martineau 2018): real should look more real than the average fake.

  `standard`: `mean BCE(D(real) - mean D(fake), 1) + mean BCE(D(fake) - mean D(real), 0)`;
  `least_squares`: `mean (D(real) - mean D(fake) - 1)^2 + mean (D(fake) - mean D(real) + 1)^2`.
  `[batch], [batch] -> scalar`.
  """
  return _relativistic_terms(form, real_logits, fake_logits)


def relativistic_average_generator_loss(fake_logits: Array, real_logits: Array, *,
                                        form: str = "standard") -> Array:
  """RaGAN G loss: the D loss with real and fake swapped, `[batch], [batch] -> scalar`."""
  return _relativistic_terms(form, fake_logits, real_logits)


def auxiliary_classifier_loss(class_logits: Array, labels: Array) -> Array:
  """ACGAN's class term (Odena et al. 2017): mean softmax cross-entropy of D's class head.

  Both players add it: D on real and fake samples, G on fake samples.

  Args:
    class_logits: `[batch, num_classes]`.
    labels: `[batch]` integer classes (the conditioning labels, for fake samples).

  Returns:
    scalar loss.
  """
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def wasserstein() -> GANLoss:
  """WGAN: the critic's output estimates the Wasserstein-1 distance."""
  return GANLoss(wasserstein_discriminator_loss, critic_generator_loss)


def hinge() -> GANLoss:
  """The hinge loss used with spectral normalisation (SNGAN, BigGAN)."""
  return GANLoss(hinge_discriminator_loss, critic_generator_loss)


def least_squares(*, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> GANLoss:
  """LSGAN with targets a (fake), b (real) and c (what G wants D to output on fakes)."""
  return GANLoss(functools.partial(least_squares_discriminator_loss, a=a, b=b),
                 functools.partial(least_squares_generator_loss, c=c))


def no_adversary_generator_loss(fake_logits: Array) -> Array:
  """0 for any `fake_logits [batch]`: G learns nothing from D."""
  return 0.0 * jnp.mean(fake_logits)


def no_adversary() -> GANLoss:
  """D trains as a real/fake classifier, but G's adversarial loss is 0: G learns from its
  other terms alone. The baseline that shows what the adversarial term adds, e.g. pix2pix's
  U-Net trained on L1 alone (configs/pix2pix_digits_edges_l1.py)."""
  return GANLoss(binary_discriminator_loss, no_adversary_generator_loss, outputs_are_logits=True)


RELATIVISTIC_FORMS = ("standard", "least_squares")


def relativistic_average(*, form: str = "standard") -> GANLoss:
  """RaGAN (RaSGAN for `form="standard"`, RaLSGAN for `form="least_squares"`)."""
  if form not in RELATIVISTIC_FORMS:
    raise ConfigError(f"Unknown relativistic form {form!r}. Known: "
                      f"{', '.join(RELATIVISTIC_FORMS)}.")
  return GANLoss(functools.partial(relativistic_average_discriminator_loss, form=form),
                 functools.partial(relativistic_average_generator_loss, form=form),
                 generator_uses_real=True)


LOSSES: Registry[Callable[..., GANLoss]] = Registry("loss", {
    "minimax": minimax,
    "non_saturating": non_saturating,
    "wasserstein": wasserstein,
    "hinge": hinge,
    "least_squares": least_squares,
    "relativistic_average": relativistic_average,
    "no_adversary": no_adversary,
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
  check_kwargs(entry, kwargs, f"Loss {name!r}")
  loss = entry(**kwargs)
  if not isinstance(loss, GANLoss):
    raise ConfigError(f"Loss factory {name!r} must return a jaxgan.losses.GANLoss, "
                     f"got {type(loss).__name__}.")
  return loss

"""G's losses in image-to-image translation besides the adversarial one: plain functions of
G's outputs, and a registry of them by config name.

A term is `fn(translate, fake, real, sources) -> scalar`:

- `translate(images)`: G applied to other images than the batch's (with the step's
  parameters: the term's gradient reaches them through it);
- `fake`: G's translation of `sources` (the term's gradient also reaches G through it);
- `real`: the real batch (paired: the targets; unpaired: both domains, `[batch, 2, ...]`);
- `sources`: what G translated (paired: the sources; unpaired: `real` itself).

`train_step` adds `weight * term` to G's loss for each entry of `config.translation_terms`,
`{"name": ..., "weight": ...}`, and logs each term as `g/<name>`. Your own term is
`"package.module:function"` there, or registered with `TERMS.register`.

Weights against the authors' code. pix2pix: jaxgan's non-saturating G loss is theirs, so
`l1` takes their λ = 100. CycleGAN: their G loss is `GAN_A + GAN_B + λ (cycle_A + cycle_B) +
0.5 λ (idt_A + idt_B)` with GAN a mean squared error; jaxgan's least-squares G loss halves
the square, and here the adversarial loss and each term are means over both directions, so
jaxgan's G loss is theirs divided by 4 when `cycle` weighs λ/2 and `identity` λ/4 (5 and
2.5 for λ = 10). Adam's updates do not change with the scale of a loss.
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxgan.errors import ConfigError, check_kwargs
from jaxgan.registry import Registry

Array = jax.Array
Translate = Callable[[Array], Array]


def l1(translate: Translate, fake: Array, real: Array, sources: Array) -> Array:
  """pix2pix's reconstruction term: mean `|G(source) - target|` over every pixel."""
  del translate, sources
  return jnp.mean(jnp.abs(fake - real))


def cycle(translate: Translate, fake: Array, real: Array, sources: Array) -> Array:
  """CycleGAN's cycle consistency: mean `|F(G(a)) - a|` and `|G(F(b)) - b|` over both
  domains, the translations `fake [batch, 2, ...]` translated back."""
  del real
  return jnp.mean(jnp.abs(translate(fake) - sources))


def swap_domains(images: Array) -> Array:
  """`[batch, 2, ...]` with domains A and B swapped."""
  return images[:, ::-1]


def identity(translate: Translate, fake: Array, real: Array, sources: Array) -> Array:
  """CycleGAN's identity term: mean `|F(a) - a|` and `|G(b) - b|` over both domains: each
  generator leaves images already of its target domain as they are."""
  del fake, real
  return jnp.mean(jnp.abs(translate(swap_domains(sources)) - sources))


class Term(NamedTuple):
  """A translation term by its config name, its function and its weight in G's loss."""
  name: str
  fn: Callable[[Translate, Array, Array, Array], Array]
  weight: float


TERMS = Registry("translation term", {"l1": l1, "cycle": cycle, "identity": identity})


def build_term(entry: dict) -> Term:
  """A `Term` from `{"name": ..., "weight": ..., **the function's keyword arguments}`."""
  kwargs = dict(entry)
  try:
    name, weight = kwargs.pop("name"), kwargs.pop("weight")
  except KeyError as e:
    raise ConfigError(f"Each entry of translation_terms needs {e}, e.g. "
                      f"{{'name': 'l1', 'weight': 100.0}}; got {entry}.") from None
  if weight < 0:
    raise ConfigError(f"Translation term {name!r} needs weight >= 0, got {weight}.")
  fn = TERMS.get(name)
  check_kwargs(fn, kwargs, f"Translation term {name!r}")
  return Term(name.rpartition(":")[2], functools.partial(fn, **kwargs), weight)

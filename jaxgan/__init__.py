"""jaxgan: generative adversarial networks in JAX and Flax, as pure functions.

`import jaxgan` loads the core only: losses, regularisers, the GAN's definition and state,
the step and the models (jax, flax and optax). The trainer (`jaxgan.trainer`), the kinds of
data (`jaxgan.tasks`) and the commands import their own dependencies when imported;
`jaxgan.load` (a trained generator) loads jaxgan.generator when called.
"""

from jaxgan import losses, models, regularizers
from jaxgan.losses import GANLoss
from jaxgan.state import GAN, GANState, Player, init_state, sample_latents
from jaxgan.step import generate, train_step


def load(path: str, *, step: int | None = None):
  """A trained generator from a workdir or an exported file (jaxgan.generator.load):
  `jaxgan.load("runs/default").sample(64, seed=0, truncation=0.7)`."""
  from jaxgan import generator  # pylint: disable=import-outside-toplevel
  return generator.load(path, step=step)


__all__ = [
    "GAN", "GANLoss", "GANState", "Player", "generate", "init_state", "load", "losses",
    "models", "regularizers", "sample_latents", "train_step",
]

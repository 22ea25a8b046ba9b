"""jaxgan: generative adversarial networks in JAX and Flax, as pure functions.

`import jaxgan` loads the core only: losses, regularisers, the GAN's definition and state,
the step and the models (jax, flax and optax). The trainer (`jaxgan.trainer`), the kinds of
data (`jaxgan.tasks`) and the commands import their own dependencies when imported.
"""

from jaxgan import losses, models, regularizers
from jaxgan.losses import GANLoss
from jaxgan.state import GAN, GANState, Player, init_state, sample_latents
from jaxgan.step import generate, train_step

__all__ = [
    "GAN", "GANLoss", "GANState", "Player", "generate", "init_state", "losses", "models",
    "regularizers", "sample_latents", "train_step",
]

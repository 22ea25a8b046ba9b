"""jaxgan: generative adversarial networks in JAX and Flax, as pure functions."""

from jaxgan import data, losses, metrics, models, regularizers, trainer
from jaxgan.losses import GANLoss
from jaxgan.state import GAN, GANState, Player, init_state, sample_latents
from jaxgan.step import generate, train_step
from jaxgan.trainer import build_gan, train_and_evaluate

__all__ = [
    "GAN", "GANLoss", "GANState", "Player", "build_gan", "data", "generate", "init_state",
    "losses", "metrics", "models", "regularizers", "sample_latents", "train_and_evaluate",
    "train_step", "trainer",
]

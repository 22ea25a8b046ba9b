"""Progressive growing (Karras et al. 2018) on the bundled digits: 4x4, then 8x8, then 16x16,
each new resolution fading in over 500 steps; runs offline.

  .venv/bin/python train.py --config configs/progressive_digits.py

G and D have the paper's layers (pixel norm, minibatch standard deviation, equalised
learning rate) and its game: WGAN-GP with one critic step per G step, Adam (0, 0.99).
Sample grids stay 16x16 throughout: early phases show enlarged 4x4 and 8x8 digits.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.model = "progressive"
  config.generator = ml_collections.ConfigDict({"features": (64, 32, 16)})
  config.discriminator = ml_collections.ConfigDict({"features": (16, 32, 64)})
  # Phase k trains from step k * phase_steps; its new layers fade in over fade_steps.
  config.growth = ml_collections.ConfigDict({"phase_steps": 1000, "fade_steps": 500})
  default.wgan_gp(config, learning_rate=1e-3, n_critic=1, betas=(0.0, 0.99))
  return config

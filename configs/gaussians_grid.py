"""MLP GAN on the 5x5 grid of Gaussians (spacing 2, std 0.05), with the best setting
measured on it (bench/mode_collapse.py, 5 seeds): D judges packs of 4 samples (PacGAN),
256 packs a step, and samples come from an EMA of G's weights, for 20,000 steps.

  python train.py --config configs/gaussians_grid.py

About two minutes on a 2-core CPU. docs/losses_and_regularizers.md has the table: the
grid stays far from full coverage.
"""

from configs import gaussians


def get_config():
  config = gaussians.get_config()
  config.dataset = "grid25"
  config.batch_size = 1024
  return config

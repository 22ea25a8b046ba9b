"""MLP GAN on the 5x5 grid of Gaussians (spacing 2, std 0.05), with the best setting
measured on it (bench/mode_collapse.py, 5 seeds): WGAN-GP (a penalty of weight 0.1, 2 D
updates per G update), a 4x256 generator fed a 16-D latent, samples from an EMA of G's
weights, and both learning rates falling to 0 along a cosine over 100,000 steps.

  .venv/bin/python train.py --config configs/gaussians_grid.py

25 to 40 minutes on a 2-core CPU. docs/losses_and_regularizers.md has the table.
"""

from configs import gaussians


def get_config():
  config = gaussians.base_config()
  config.dataset = "grid25"
  config.latent_dim = 16
  config.generator.hidden_dims = (256, 256, 256, 256)
  config.loss = "wasserstein"
  config.n_critic = 2
  config.d_penalties = ({"name": "gradient_penalty", "weight": 0.1},)
  config.d_optimizer.b2 = 0.9
  gaussians.long_run(config)
  return config

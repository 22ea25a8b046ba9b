"""MLP GAN on the ring of 8 Gaussians (radius 2, std 0.02), the classic mode-collapse test,
with the best setting measured on it (bench/mode_collapse.py, 5 seeds): D judges packs of 4
samples (PacGAN), samples come from an EMA of G's weights, and both learning rates fall to 0
along a cosine over 100,000 steps.

  .venv/bin/python train.py --config configs/gaussians.py
  .venv/bin/python train.py --config configs/gaussians_grid.py   # the 5x5 grid's own setting

Samples are drawn as 2-D points over the mode centres; about four minutes on a 2-core CPU.
`base_config()` is the plain MLP GAN that the benchmark compares remedies on.
"""

import ml_collections

from configs import default


def get_config():
  config = base_config()
  config.packing = 4
  long_run(config)
  return config


def long_run(config: ml_collections.ConfigDict) -> None:
  """Sets `config` to 100,000 steps with both learning rates falling to 0 along a cosine
  and samples from an EMA of G's weights: what sharpens G's modes (fewer samples between
  them) on the mixtures."""
  config.g_ema_decay = 0.999
  config.g_optimizer.decay = config.d_optimizer.decay = "cosine"
  config.num_train_steps = 100_000
  config.log_every_steps = 5000
  config.sample_every_steps = config.eval_every_steps = config.checkpoint_every_steps = 25_000


def base_config():
  """The plain MLP GAN on the ring: 3x128 LeakyReLU layers each, latent 2, Adam 1e-3."""
  config = default.base_config()
  config.task = "mixture"
  config.dataset = "ring8"
  config.model = "mlp"
  config.latent_dim = 2
  config.generator = {"hidden_dims": (128, 128, 128), "output_activation": "identity"}
  config.discriminator = {"hidden_dims": (128, 128, 128)}
  config.g_optimizer.learning_rate = 1e-3
  config.d_optimizer.learning_rate = 1e-3
  config.batch_size = 256
  config.num_train_steps = 5000
  config.sample_every_steps = 1000
  config.num_samples = 2500
  config.eval_num_samples = 2500  # The PacGAN protocol: modes covered by 2,500 samples.
  return config

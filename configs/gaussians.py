"""MLP GAN on the ring of 8 Gaussians (radius 2, std 0.02), the classic mode-collapse test.

  python train.py --config configs/gaussians.py
  python train.py --config configs/gaussians.py --config.dataset=grid25   # 5x5 grid

Samples are drawn as a density image of 2-D points. A few minutes on a CPU.
"""

from configs import default


def get_config():
  config = default.base_config()
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

"""The fully connected GAN of Goodfellow et al. 2014 on MNIST at 28x28.

  .venv/bin/python train.py --config configs/mlp_mnist.py --config.download=True

Needs MNIST prepared by tfds once (internet and `pip install '.[datasets]'`).
"""

from configs import default


def get_config():
  config = default.base_config()
  config.dataset = "mnist"
  config.image_size = 28
  config.model = "mlp"
  config.generator = {"hidden_dims": (256, 512, 1024)}
  config.discriminator = {"hidden_dims": (1024, 512, 256)}
  config.batch_size = 128
  config.num_train_steps = 20_000
  config.sample_every_steps = 2000
  config.checkpoint_every_steps = 5000
  return config

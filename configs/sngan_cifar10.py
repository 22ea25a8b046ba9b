"""SNGAN (Miyato et al. 2018) on CIFAR-10: the ResNet G and spectrally normalised ResNet D
of the paper, hinge loss, Adam 2e-4 with betas (0, 0.9), 5 D updates per G update.

  .venv/bin/python train.py --config configs/sngan_cifar10.py --config.download=True

G 4x4x256 -> three up-blocks -> 32x32x3 (4.28M parameters); D four blocks of 128
features, the first two halving the size (1.05M). Needs CIFAR-10 prepared by tfds once
(internet and `pip install '.[datasets]'`). 50,000 G updates: meant for a GPU or TPU.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  default.for_cifar10(config, num_train_steps=50_000)
  config.model = "sngan_resnet"
  config.latent_dim = 128
  config.generator = ml_collections.ConfigDict({"features": (256, 256, 256)})
  config.discriminator = ml_collections.ConfigDict({"features": (128, 128, 128, 128),
                                                    "num_down": 2})
  config.loss = "hinge"
  config.n_critic = 5
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.b1, optimizer.b2 = 0.0, 0.9
  return config

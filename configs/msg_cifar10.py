"""MSG-GAN (Karnewar & Wang 2020) on CIFAR-10: images at 4, 8, 16 and 32 px from one G, all
judged by one D, with the relativistic average loss, lazy R1 and the paper's Adam settings
(3e-3, betas (0, 0.99)).

  .venv/bin/python train.py --config configs/msg_cifar10.py --config.download=True

Needs CIFAR-10 prepared by tfds once (internet and `pip install '.[datasets]'`). Meant for
a GPU or TPU; not trained to the end where jaxgan is developed (no CIFAR-10 there).
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  default.for_cifar10(config, num_train_steps=100_000)
  config.model = "msg"
  config.latent_dim = 512
  config.generator = ml_collections.ConfigDict({"features": (512, 512, 256, 128)})
  config.discriminator = ml_collections.ConfigDict({"features": (128, 256, 512, 512),
                                                    "combine": "lin_cat"})
  config.loss = "relativistic_average"
  config.d_penalties = ({"name": "r1", "weight": 1.0, "every": 4},)
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate, optimizer.b1, optimizer.b2 = 3e-3, 0.0, 0.99
  return config

"""SNGAN's ResNet G and spectrally normalised ResNet D on the bundled digits at 16x16,
with the paper's hinge loss and Adam betas (0, 0.9); runs offline.

  .venv/bin/python train.py --config configs/sngan_digits.py

G 4x4x32 -> two up-blocks -> 16x16x1; D three blocks of 32 features, the first two
halving the size; one D update per G update (the paper's 5, and its widths, make a
step 10x slower on a 2-core CPU). About 13 steps/s there. See configs/sngan_cifar10.py
for the paper's CIFAR-10 model.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.model = "sngan_resnet"
  config.latent_dim = 128
  config.generator = ml_collections.ConfigDict({"features": (32, 32)})
  config.discriminator = ml_collections.ConfigDict({"features": (32, 32, 32), "num_down": 2})
  config.loss = "hinge"
  config.n_critic = 1
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.b1, optimizer.b2 = 0.0, 0.9
  config.num_train_steps = 2000
  return config

"""Progressive growing (Karras et al. 2018) on CIFAR-10: 4, 8, 16, then 32 px, 25,000 steps
per resolution (1.6M images at batch 64; the paper shows 800k and fades over 800k more),
each new resolution fading in over its first 12,500 steps, with the game and Adam settings
of configs/progressive_digits.py (the paper's WGAN-GP, without its drift term).

  .venv/bin/python train.py --config configs/progressive_cifar10.py --config.download=True

Needs CIFAR-10 prepared by tfds once (internet and `pip install '.[datasets]'`). Meant for
a GPU or TPU; not trained to the end where jaxgan is developed (no CIFAR-10 there).
"""

from configs import default, progressive_digits


def get_config():
  config = progressive_digits.get_config()
  default.for_cifar10(config, num_train_steps=100_000)
  config.latent_dim = 512
  config.generator.features = (512, 512, 256, 128)
  config.discriminator.features = (128, 256, 512, 512)
  config.growth.phase_steps, config.growth.fade_steps = 25_000, 12_500
  return config

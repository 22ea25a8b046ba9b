"""DCGAN on CIFAR-10 at 32x32x3: generator 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x3.

  .venv/bin/python train.py --config configs/dcgan_cifar10.py --config.download=True

Needs CIFAR-10 prepared by tfds once (internet and `pip install '.[datasets]'`).
Meant for a GPU or TPU.
"""

from configs import dcgan_mnist


def get_config():
  config = dcgan_mnist.get_config()
  config.dataset = "cifar10"
  config.image_size = 32
  config.generator.features = (512, 256, 128)
  config.discriminator.features = (128, 256, 512)
  config.num_train_steps = 50_000
  config.sample_every_steps = 2500
  config.checkpoint_every_steps = 5000
  return config

"""The DCGAN of Radford et al. 2015 on MNIST at 28x28 (the paper's layout, 7x7 base).

  .venv/bin/python train.py --config configs/dcgan_mnist.py --config.download=True

Needs MNIST prepared by tfds once (internet and `pip install '.[datasets]'`).
Textbook D (BatchNorm, no biases), one-sided label smoothing (real label 0.9),
Adam 2e-4 with b1 0.5, batch 128.
"""

from configs import default


def get_config():
  config = default.base_config()
  config.dataset = "mnist"
  config.image_size = 28
  config.generator.features = (256, 128)
  config.discriminator.features = (128, 256)
  config.discriminator.batch_norm = True
  config.discriminator.use_bias = False
  config.loss_kwargs.real_label = 0.9
  config.batch_size = 128
  config.num_train_steps = 10_000
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 2000
  return config

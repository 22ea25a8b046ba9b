"""StyleGAN2 (Karras et al. 2020) on the bundled digits at 16x16; runs offline.

  .venv/bin/python train.py --config configs/stylegan2_digits.py

A small StyleGAN2 with the paper's training: a 2-layer mapping network to 64-d w,
64 features at every resolution (NVIDIA's channel_base=1024, channel_max=64: 227,464 G
and 259,201 D parameters, as in stylegan2-ada-pytorch), style mixing, lazy path-length
regularisation on G every 4 steps and lazy R1 on D every 16, Adam (lr 0.0025, betas 0,
0.99), the non-saturating loss and an EMA generator. See configs/stylegan2_cifar10.py
for the paper's CIFAR-10 model.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.base_config()
  config.model = "stylegan2"
  config.latent_dim = 64
  config.generator = ml_collections.ConfigDict(
      {"w_dim": 64, "mapping_layers": 2, "channel_base": 1024, "channel_max": 64})
  config.discriminator = ml_collections.ConfigDict(
      {"channel_base": 1024, "channel_max": 64, "minibatch_stddev": 4})
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate, optimizer.b1, optimizer.b2 = 0.0025, 0.0, 0.99
    optimizer.eps = 1e-8
  config.g_penalties = ({"name": "path_length", "weight": 2.0, "every": 4},)
  config.d_penalties = ({"name": "r1", "weight": 0.1, "every": 16},)
  config.g_ema_decay = 0.998
  return config

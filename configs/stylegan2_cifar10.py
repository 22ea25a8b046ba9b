"""StyleGAN2 on CIFAR-10 at 32x32 with the settings of stylegan2-ada-pytorch's `--cfg=cifar`
(Karras et al. 2020), for a GPU or TPU.

  .venv/bin/python train.py --config configs/stylegan2_cifar10.py --config.download=True

G: 512-d z and w, a 2-layer mapping network, 512 features at every resolution (19,947,539
parameters); D without residual branches ("orig") and minibatch standard deviation over
groups of 32 (20,720,641): both as NVIDIA's for the same options. Batch 64, Adam (lr
0.0025, betas 0, 0.99, eps 1e-8), the non-saturating loss, R1 with gamma 0.01 every 16
steps, no path length regularisation and no style mixing (as that config), and an EMA
generator of half-life 500k images. The paper trains 100M images (1.56M steps at batch
64); FID with InceptionV3 needs `--config.eval_features=inception` and its weights.
`--config.conditional=True` trains on the labels, as `--cond=1` does. Not applied here: that
code's EMA ramp-up, and its correction of Adam's learning rate and betas for the steps of
lazy regularisation.
"""

import ml_collections

from configs import default, stylegan2_digits


def get_config() -> ml_collections.ConfigDict:
  config = stylegan2_digits.get_config()
  default.for_cifar10(config, num_train_steps=1_562_500)
  config.latent_dim = 512
  config.generator = ml_collections.ConfigDict(
      {"w_dim": 512, "mapping_layers": 2, "channel_base": 32768, "channel_max": 512,
       "style_mixing_prob": 0.0})
  config.discriminator = ml_collections.ConfigDict(
      {"channel_base": 32768, "channel_max": 512, "architecture": "orig",
       "minibatch_stddev": 32})
  config.g_penalties = ()
  config.d_penalties = ({"name": "r1", "weight": 0.01, "every": 16},)
  config.g_ema_decay = 0.5 ** (config.batch_size / 500_000)
  return config

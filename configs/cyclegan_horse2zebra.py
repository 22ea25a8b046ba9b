"""CycleGAN on horse2zebra at 256x256 with the authors' default options (a GPU or TPU run).

  .venv/bin/python train.py --config configs/cyclegan_horse2zebra.py --config.download=True

The authors' `--model cycle_gan` on tfds' `cycle_gan/horse2zebra`: 1,067 horses and 1,334
zebras, unpaired, mirrored at random, batch 1, 200 epochs of 1,334 steps (the learning rate
constant for the first half, then linear to 0), ResNet generators of 9 blocks and 3-layer
PatchGANs with instance norm, least squares, cycle λ = 10 and identity 0.5 λ, pools of 50
fakes. Left out: their jitter (resize to 286, random 256 crop). Evaluated on the test
horses and zebras: the cycle reconstruction error, and FID with `eval_features="inception"`.
"""

import ml_collections

from configs import cyclegan_digits_thick, default


def get_config() -> ml_collections.ConfigDict:
  config = default.base_config()
  cyclegan_digits_thick.cyclegan(config, image_size=256)
  config.dataset = "cycle_gan/horse2zebra"
  config.task_kwargs = ml_collections.ConfigDict({"mirror": True})
  config.num_train_steps = 200 * 1334
  config.sample_every_steps = 5000
  config.checkpoint_every_steps = 10_000
  config.eval_every_steps = 20_000
  config.eval_num_samples = 260
  return config

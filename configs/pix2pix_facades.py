"""pix2pix on CMP Facades at 256x256 with the authors' default options (a GPU or TPU run).

  .venv/bin/python train.py --config configs/pix2pix_facades.py --config.download=True

The authors' `--model pix2pix --direction BtoA` on facades: labels to photos, the 400
training pairs mirrored at random, batch 1, 200 epochs (80,000 steps: the learning rate
constant for the first half, then linear to 0), the U-Net of 8 downsamplings and the
3-layer PatchGAN (70x70 patches) with BatchNorm, non-saturating loss plus 100 x L1. Their
archive is downloaded once through tfds' download manager. Left out: their jitter (resize to
286, random 256 crop). Evaluated on the 106 test pairs by InceptionV3 when
`eval_inception_weights` is set, else by L1, PSNR and SSIM.
"""

import ml_collections

from configs import default, pix2pix_digits_edges


def get_config() -> ml_collections.ConfigDict:
  config = default.base_config()
  pix2pix_digits_edges.pix2pix(config, image_size=256)
  config.dataset = "pix2pix/facades"
  config.task_kwargs = ml_collections.ConfigDict({"direction": "BtoA", "mirror": True})
  config.num_train_steps = 200 * 400
  config.sample_every_steps = 2000
  config.checkpoint_every_steps = 4000
  config.eval_every_steps = 8000
  config.eval_num_samples = 106
  return config

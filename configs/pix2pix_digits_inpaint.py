"""pix2pix inpainting offline: the bundled digits with a 16x16 square masked out, restored.

  .venv/bin/python train.py --config configs/pix2pix_digits_inpaint.py

`task_kwargs.derive="mask"` makes a paired restoration task of any image dataset: each image
is the target of itself with a square of half its side filled with grey, at a place fixed
per image ("blur" instead takes away detail). Otherwise configs/pix2pix_digits_edges.py.
"""

import ml_collections

from configs import pix2pix_digits_edges


def get_config() -> ml_collections.ConfigDict:
  config = pix2pix_digits_edges.get_config()
  config.task_kwargs.derive = "mask"
  return config

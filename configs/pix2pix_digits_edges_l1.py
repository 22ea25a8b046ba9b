"""The baseline of configs/pix2pix_digits_edges.py: the same U-Net trained on L1 alone.

  .venv/bin/python train.py --config configs/pix2pix_digits_edges_l1.py

G's adversarial loss is 0 (`loss="no_adversary"`; D still trains, unheard): what the
adversarial term adds to pix2pix shows against this run (docs/translation.md).
"""

import ml_collections

from configs import pix2pix_digits_edges


def get_config() -> ml_collections.ConfigDict:
  config = pix2pix_digits_edges.get_config()
  config.loss = "no_adversary"
  return config

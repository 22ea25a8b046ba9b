"""MSG-GAN (Karnewar & Wang 2020) on the bundled digits at 16x16: G makes 4x4, 8x8 and 16x16
digits, D takes all three, each at its own depth (`combine="lin_cat"`); runs offline.

  .venv/bin/python train.py --config configs/msg_digits.py

Sample grids show the 16x16 images; `.venv/bin/python -m jaxgan.evaluate` also draws every scale.
About 20 steps/s on a 2-core CPU (3x3 convolutions at every scale cost more than the
default DCGAN's strided ones).
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.model = "msg"
  config.generator = ml_collections.ConfigDict({"features": (64, 32, 16)})
  config.discriminator = ml_collections.ConfigDict({"features": (16, 32, 64),
                                                    "combine": "lin_cat"})
  return config

"""pix2pix (Isola et al. 2017) offline: the bundled digits drawn from their edges.

  .venv/bin/python train.py --config configs/pix2pix_digits_edges.py

Each digit (32x32) is the target of its Sobel edges, as edges2shoes' shoes are of theirs:
a paired task made from a dataset with no pairs (`task_kwargs.derive`), measured by the
digits classifier. The authors' game and optimiser: the non-saturating loss plus 100 x L1 to
the target, Adam (2e-4, betas 0.5/0.999), the learning rate constant for half the run and
then falling linearly to 0. The networks are theirs at this size: the U-Net with 5
downsamplings (to 1x1) and 32 features, dropout after the two innermost decoder blocks
(their rule puts none below 64x64: then G would have no noise at all), and a 2-layer
PatchGAN (6x6 patches of 22x22 pixels).
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.base_config()
  pix2pix(config, image_size=32, features=32, batch_size=32)
  config.dataset = "sklearn_digits"
  config.task_kwargs = ml_collections.ConfigDict({"derive": "edges"})
  config.discriminator.num_layers = 2
  config.generator.dropout_blocks = 2
  config.num_train_steps = 2000
  config.eval_every_steps = 1000
  return config


def pix2pix(config: ml_collections.ConfigDict, *, image_size: int, features: int = 64,
            batch_size: int = 1) -> None:
  """Sets `config` to the pix2pix authors' defaults: the U-Net and PatchGAN with BatchNorm,
  the non-saturating loss plus 100 x L1, Adam (2e-4, b1 0.5), constant then linear decay."""
  config.task = "translation"
  config.image_size = image_size
  config.model = "pix2pix"
  config.latent_dim = 1  # Unused: dropout is G's noise.
  config.generator = ml_collections.ConfigDict({"features": features})
  config.discriminator = ml_collections.ConfigDict({"features": features})
  config.loss = "non_saturating"
  config.translation_terms = ({"name": "l1", "weight": 100.0},)
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.decay, optimizer.decay_start = "linear", 0.5
  config.batch_size = batch_size
  config.num_samples = 16
  config.eval_num_samples = 360

"""CycleGAN (Zhu et al. 2017) offline: digits to digits of thicker strokes and back, unpaired.

  .venv/bin/python train.py --config configs/cyclegan_digits_thick.py

The bundled digits (32x32) split in two halves: domain A as they are, domain B the other
half with its strokes thickened (a grey dilation), so no image of A has its pair in B
(`task_kwargs.derive="thick"`); measured by the digits classifier against the held-out
digits of each domain. The authors' game: the least-squares loss, cycle consistency
λ = 10 and identity 0.5 λ (weights 5 and 2.5 on jaxgan's scale: jaxgan.translation), a
pool of 50 past fakes making up half of each D's fake batch (the replay buffer), Adam
(2e-4, betas 0.5/0.999), constant then linear to 0. Their networks, smaller: ResNet
generators with 6 blocks and 32 features, 2-layer PatchGANs.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.base_config()
  cyclegan(config, image_size=32, features=32, batch_size=8)
  config.dataset = "sklearn_digits"
  config.task_kwargs = ml_collections.ConfigDict({"derive": "thick"})
  config.generator.num_blocks = 6
  config.discriminator.num_layers = 2
  config.num_train_steps = 2000
  config.eval_every_steps = 1000
  return config


def cyclegan(config: ml_collections.ConfigDict, *, image_size: int, features: int = 64,
             batch_size: int = 1) -> None:
  """Sets `config` to the CycleGAN authors' defaults: ResNet generators and PatchGANs with
  instance norm, least squares, cycle λ = 10 and identity 0.5 λ, a pool of 50 fakes per D,
  Adam (2e-4, b1 0.5), constant then linear decay."""
  config.task = "translation"
  config.image_size = image_size
  config.model = "cyclegan"
  config.latent_dim = 1  # Unused: CycleGAN has no noise.
  config.generator = ml_collections.ConfigDict({"features": features})
  config.discriminator = ml_collections.ConfigDict({"features": features})
  config.loss = "least_squares"
  lam = 10.0  # The authors' weights are λ and 0.5 λ on their scale: jaxgan.translation.
  config.translation_terms = ({"name": "cycle", "weight": lam / 2},
                              {"name": "identity", "weight": 0.5 * lam / 2})
  config.replay.size, config.replay.fraction = 50, 0.5
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.decay, optimizer.decay_start = "linear", 0.5
  config.batch_size = batch_size
  config.num_samples = 16
  config.eval_num_samples = 180

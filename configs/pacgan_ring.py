"""PacGAN's 2-D experiment (Lin et al. 2018, after VEEGAN): the ring of 8 Gaussians with the
paper's models and optimiser, unpacked. PacGAN-m is the same with `--config.packing=m` and
`--config.batch_size=100*m` (100 packs a step, as the paper's code draws them).

  .venv/bin/python train.py --config configs/pacgan_ring.py --config.packing=4 \\
      --config.batch_size=400
  .venv/bin/python train.py --config configs/pacgan_ring.py --config.dataset=grid25   # the 5x5 grid

G: 4 hidden layers of 400 units with BatchNorm and ReLU, linear output, 2-D latent. D: 3
maxout layers of 200 units with 5 pieces each. Adam 1e-4 (b1 0.8) for both, both updated
from one forward pass (the paper's code), non-saturating loss. Differences from the paper:
jaxgan's ring has radius 2 and std 0.02 (the paper's code: radius 1, std 0.01; the same
up to scale), layers start from Flax's default initialisers (the paper's: N(0, 0.02)), and
the paper trains 400 epochs of 100,000 points (400,000 steps), hours a run on a 2-core
CPU (alone there, 57 steps/s unpacked and 36 packed 4 deep: 2 and 3 hours); this config
trains 20,000.
"""

from configs import gaussians


def get_config():
  config = gaussians.base_config()
  config.generator = {"hidden_dims": (400, 400, 400, 400), "output_activation": "identity",
                      "activation": "relu", "batch_norm": True}
  config.discriminator = {"hidden_dims": (200, 200, 200), "maxout_pieces": 5}
  config.schedule = "simultaneous"
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate, optimizer.b1, optimizer.b2 = 1e-4, 0.8, 0.999
  config.batch_size = 100
  config.num_train_steps = 20_000
  config.log_every_steps = 1000
  config.sample_every_steps = config.eval_every_steps = config.checkpoint_every_steps = 5000
  return config

"""Binary images through the straight-through estimator: the bundled digits at 16x16,
thresholded to black and white, from an MLP generator with binary pixels.

  .venv/bin/python train.py --config configs/binary_digits.py
  .venv/bin/python train.py --config configs/binary_digits.py \\
      --config.generator.output_activation=bernoulli

G's last layer gives one logit per pixel, read as Bernoulli(sigmoid(logit)). Each pixel is
the more likely value, 1 or -1 (`binary`), or a Bernoulli sample (`bernoulli`), and passes
back the gradient of the mean, tanh(logit / 2) (jaxgan.models.discrete). D is an MLP. FID is
measured against the binarised digits. Sampled pixels come out speckled (README, "Beyond
images"), so the more likely value is the default.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.task_kwargs.binarized = True
  config.model = "mlp"
  config.latent_dim = 64
  config.generator = ml_collections.ConfigDict(
      {"hidden_dims": (256, 256), "output_activation": "binary"})
  config.discriminator = ml_collections.ConfigDict({"hidden_dims": (256, 256)})
  config.num_train_steps = 3000
  return config

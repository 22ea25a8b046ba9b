"""A tabular GAN (CTGAN, Xu et al. 2019) on the 1996 American National Election Study table
that statsmodels ships (944 voters, 11 columns; offline): mode-specific normalisation of
the continuous columns, Gumbel-softmax categories, the conditional vector with
training-by-sampling, WGAN-GP, Adam (0.5, 0.9), batches of 500 rows: CTGAN's settings.

  .venv/bin/python train.py --config configs/tabular_anes96.py
  .venv/bin/python train.py --config configs/tabular_anes96.py --config.dataset=my_table.csv \\
      --config.task_kwargs.categorical_columns="('colour', 'size')" --config.task_kwargs.target=size

Measured against a fifth of the voters held out: each column's distribution (KS or total
variation), the associations between columns, and how well a model fitted to generated
rows predicts the vote (macro F1), alone and added to a tenth of the real rows.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.task = "table"
  config.dataset = "statsmodels:anes96"
  config.task_kwargs.categorical_columns = ("TVnews", "selfLR", "ClinLR", "DoleLR", "PID",
                                            "educ", "vote")
  config.task_kwargs.target = "vote"
  config.conditional = True
  config.model = "tabular"
  config.latent_dim = 128
  config.generator = ml_collections.ConfigDict(
      {"hidden_dims": (256, 256), "output": "gumbel_softmax", "temperature": 0.2})
  config.discriminator = ml_collections.ConfigDict({"hidden_dims": (256, 256)})
  default.wgan_gp(config, learning_rate=2e-4, n_critic=1)
  config.batch_size = 500
  config.num_train_steps = 3000
  config.num_samples = 500
  config.eval_every_steps = 1000
  config.eval_num_samples = 5000
  return config

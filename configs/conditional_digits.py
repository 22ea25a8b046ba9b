"""Class-conditional DCGAN on the bundled digits: the default model, with G given a
one-hot class and D a projection term (Miyato & Koyama 2018).

  .venv/bin/python train.py --config configs/conditional_digits.py

Sample grids show one row per class; evaluation adds `class_accuracy`, how often
jaxgan's classifier sees the class that was asked for.
"""

from configs import default


def get_config():
  config = default.base_config()
  config.conditional = True
  return config

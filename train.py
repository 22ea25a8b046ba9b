"""Trains a GAN: `python train.py --config configs/<name>.py --workdir runs/<name>`.

With no flags it trains configs/default.py (offline digits) into runs/default.
Override any config field with `--config.<field>=<value>`.
"""

import logging
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from jaxgan import trainer
from jaxgan.errors import ConfigError

_HERE = os.path.dirname(os.path.abspath(__file__))
config_flags.DEFINE_config_file("config", os.path.join(_HERE, "configs", "default.py"),
                                "Experiment config file.", lock_config=True)
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config name>.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config_file = config_flags.get_config_filename(FLAGS["config"])
  workdir = FLAGS.workdir or os.path.join("runs", os.path.basename(config_file)[:-len(".py")])
  trainer.log_to_console()
  logging.info("Config %s, workdir %s", config_file, os.path.abspath(workdir))
  try:
    trainer.train_and_evaluate(FLAGS.config, workdir)
  except ConfigError as e:
    sys.exit(f"Config error: {e}")


if __name__ == "__main__":
  app.run(main)

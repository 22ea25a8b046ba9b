"""Trains a GAN: `python train.py --config configs/<name>.py --workdir runs/<name>`.

With no flags it trains configs/default.py (offline digits) into runs/default.
Override any config field with `--config.<field>=<value>`.
"""

import os

import logging

from absl import app, flags
from ml_collections import config_flags

from jaxgan import trainer

_HERE = os.path.dirname(os.path.abspath(__file__))
config_flags.DEFINE_config_file("config", os.path.join(_HERE, "configs", "default.py"),
                                "Experiment config file.", lock_config=True)
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config name>.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config_name = os.path.splitext(os.path.basename(config_flags.get_config_filename(FLAGS["config"])))[0]
  workdir = FLAGS.workdir or os.path.join("runs", config_name)
  logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", level=logging.INFO,
                      force=True)
  logging.getLogger("absl").setLevel(logging.WARNING)  # orbax logs every file it writes.
  logging.info("Config %s, workdir %s", config_name, os.path.abspath(workdir))
  trainer.train_and_evaluate(FLAGS.config, workdir)


if __name__ == "__main__":
  app.run(main)

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


def _exit_on_unknown_field(error: Exception, argv: list[str]) -> None:
  name = str(error).split("\\n")[0].strip("'\"\\ ")
  override = next((a for a in argv if a.startswith("--config.") and name in a), name)
  sys.exit(f"Config error: {override} names a field the config does not have; see the "
           f"config file for the fields.")


try:  # ml_collections applies the --config.<field> overrides here, at definition.
  config_flags.DEFINE_config_file("config", os.path.join(_HERE, "configs", "default.py"),
                                  "Experiment config file.", lock_config=True)
except (AttributeError, KeyError) as e:
  _exit_on_unknown_field(e, sys.argv)
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config name>.")
FLAGS = flags.FLAGS


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with a clear message for a misspelt `--config.<field>`."""
  try:
    return FLAGS(argv)
  except (AttributeError, KeyError) as e:
    _exit_on_unknown_field(e, argv)


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
  except FloatingPointError as e:
    sys.exit(f"Stopped: {e}")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

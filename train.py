"""Trains a GAN: `.venv/bin/python train.py --config configs/<name>.py --workdir runs/<name>`.

With no flags it trains configs/default.py (offline digits) into runs/default.
Override any config field with `--config.<field>=<value>`, and pass keyword
arguments to the loss and the models with `--config.loss_kwargs.<name>=<value>`,
`--config.generator.<name>=...`, `--config.discriminator.<name>=...`. Modules named
in the config (`--config.loss=mylosses:hinge`) are imported from the current
directory too.

On several processes (hosts), start the same command in each, with `--multihost` on TPU
pods and under SLURM, or `--coordinator_address=HOST:PORT --num_processes=N
--process_id=I` elsewhere (README, "Many devices and hosts").
"""

import logging
import os
import sys

import jax
from absl import app, flags

from jaxgan import command_line, trainer
from jaxgan.errors import ConfigError, DataError

CONFIGS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")

try:
  command_line.define_config_flag(os.path.join(CONFIGS_DIR, "default.py"))
except ConfigError as e:
  sys.exit(f"Config error: {e}")
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config name>.")
flags.DEFINE_bool("multihost", False, "Join a run over several processes (jax.distributed); "
                  "TPU pods and SLURM need nothing else, other clusters the three flags below.")
flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0 (implies --multihost).")
flags.DEFINE_integer("num_processes", None, "Processes in the run (with --coordinator_address).")
flags.DEFINE_integer("process_id", None, "This process's number, 0 to num_processes - 1.")
flags.DEFINE_integer("heartbeat_timeout_s", 100, "With several processes: after this long "
                     "without a peer's heartbeat, the others stop with an error.")
FLAGS = flags.FLAGS


def parse_flags(argv: list[str]) -> list[str]:
  try:
    return command_line.parse(FLAGS, argv, CONFIGS_DIR)
  except ConfigError as e:
    sys.exit(f"Config error: {e}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  sys.path.insert(1, os.getcwd())
  if FLAGS.multihost or FLAGS.coordinator_address:
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id,
                               heartbeat_timeout_seconds=FLAGS.heartbeat_timeout_s)
  config_file = command_line.config_file_in(sys.argv) or os.path.join(CONFIGS_DIR, "default.py")
  workdir = FLAGS.workdir or os.path.join("runs", os.path.basename(config_file)[:-len(".py")])
  trainer.log_to_console()
  logging.info("Config %s, workdir %s", config_file, os.path.abspath(workdir))
  try:
    trainer.train_and_evaluate(FLAGS.config, workdir)
  except DataError as e:
    sys.exit(f"Data error: {e}")
  except ConfigError as e:
    sys.exit(f"Config error: {e}")
  except FloatingPointError as e:
    sys.exit(f"Stopped: {e}")
  except KeyboardInterrupt:
    sys.exit(f"Stopped at once by a second Ctrl-C; the newest checkpoint in "
             f"{os.path.join(workdir, 'checkpoints')} is where the same command resumes.")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

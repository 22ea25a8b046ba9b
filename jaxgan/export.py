"""Exports a trained generator to one self-contained file:
`.venv/bin/python -m jaxgan.export --workdir runs/default digits.jaxgan`.

The file holds the config, what the generator needs of its data (its shape and how outputs
are decoded) and the generator's variables (the EMA generator when there is one) of the
best checkpoint, else the newest (`--step` for another). `jaxgan.load(FILE)` reads it
without the workdir, the trainer or the dataset.
"""

import os
import sys

from absl import app, flags

from jaxgan import generator

flags.DEFINE_string("workdir", None, "The training workdir.", required=True)
flags.DEFINE_integer("step", None, "Checkpoint step; default the best, else the newest.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) != 2:
    sys.exit("Usage: python -m jaxgan.export --workdir WORKDIR OUT_FILE")
  try:
    g = generator.load(FLAGS.workdir, step=FLAGS.step)
  except FileNotFoundError as e:
    sys.exit(str(e))
  g.export(argv[1])
  print(f"Wrote {argv[1]} ({os.path.getsize(argv[1]) / 1e6:.1f} MB): the generator of "
        f"{FLAGS.workdir} at step {g.step}.")


if __name__ == "__main__":
  app.run(main)

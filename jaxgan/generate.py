"""Writes samples of a trained generator:
`.venv/bin/python -m jaxgan.generate runs/default --num 64 --truncation 0.7 --out samples/`.

Takes a workdir (its best checkpoint, else the newest) or a file from `jaxgan.export`, and
writes into `--out` what the kind of data writes: for images `grid.png` and one PNG each,
for words `samples.txt`, for a table `samples.csv`, for audio one WAV file each; with a
progress bar for large numbers. `--truncation` (psi) pulls latents toward the mean (the
mean w of a StyleGAN2); `--threshold` redraws latents beyond it; `--label` picks one class
of a conditional generator (default: every class in turn).
"""

import os
import sys

from absl import app, flags

from jaxgan import generator

flags.DEFINE_integer("num", 64, "Samples to write.")
flags.DEFINE_integer("seed", 0, "Seed of the latents and of G's noise.")
flags.DEFINE_float("truncation", 1.0, "psi in [0, 1]: 1 draws from G as trained.")
flags.DEFINE_float("threshold", None, "Redraw latent entries beyond +-threshold.")
flags.DEFINE_integer("label", None, "The class of every sample (conditional generators).")
flags.DEFINE_string("out", "generated", "Output directory.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) != 2:
    sys.exit("Usage: python -m jaxgan.generate WORKDIR_OR_FILE --num N --out DIR")
  try:
    g = generator.load(argv[1])
    samples = g.sample(FLAGS.num, seed=FLAGS.seed, labels=FLAGS.label,
                       truncation=FLAGS.truncation, threshold=FLAGS.threshold,
                       progress=True)
  except (FileNotFoundError, ValueError) as e:
    sys.exit(str(e))
  os.makedirs(FLAGS.out, exist_ok=True)
  paths = g.decoder.write(samples, FLAGS.out)
  print(f"Wrote {len(paths)} file(s) to {FLAGS.out}: {FLAGS.num} samples of {argv[1]} "
        f"(step {g.step}, seed {FLAGS.seed}, truncation {FLAGS.truncation}).")


if __name__ == "__main__":
  app.run(main)

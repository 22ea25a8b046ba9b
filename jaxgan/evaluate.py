"""Evaluates a finished (or running) workdir:
`.venv/bin/python -m jaxgan.evaluate --workdir runs/default`.

Restores the newest checkpoint (or `--step`) with the config saved beside it, draws
`--num_samples` samples, prints the metrics as a table, and writes to
`WORKDIR/eval/step_<n>/` the samples (`samples.npz`, with their `labels` for a conditional
GAN), `metrics.json`, and what the kind of data writes (jaxgan.tasks): for images a sample
grid (one row per class when conditional), a latent interpolation and, for a multi-scale
generator, every scale; for words the strings and their length histogram; for a table the
rows and each column's distance from the held-out rows; for audio WAV files and
spectrograms; for a 2-D mixture the points over the modes.
"""

import json
import os
import sys

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import app, flags

from jaxgan import checkpointing, evaluation, generator, tasks, trainer
from jaxgan.state import init_state

flags.DEFINE_string("workdir", None, "The training workdir.", required=True)
flags.DEFINE_integer("step", None, "Checkpoint step; default the newest.")
flags.DEFINE_integer("num_samples", 10_000, "Generated samples to measure.")
flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
FLAGS = flags.FLAGS


def evaluate_workdir(workdir: str, *, step: int | None = None, num_samples: int = 10_000,
                     seed: int = 0) -> dict[str, float]:
  """The metrics of a workdir's checkpoint; writes samples and pictures beside it."""
  checkpoints = os.path.abspath(os.path.join(workdir, "checkpoints"))
  if not os.path.isdir(checkpoints):
    raise FileNotFoundError(f"No checkpoint in {checkpoints}.")
  manager = checkpointing.make_manager(workdir, create=False)
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"No checkpoint in {checkpoints}.")
  config = ml_collections.ConfigDict(generator.tuples(manager.restore(step, args=ocp.args.Composite(
      config=ocp.args.JsonRestore())).config))
  task = tasks.from_config(config)
  evaluator = task.evaluator(config.eval_cache_dir or evaluation.default_cache_dir())
  gan = trainer.build_gan(config, task.spec)
  state = checkpointing.restore_or_init(
      manager, init_state(gan, jax.random.key(config.seed), task.spec.shape), config,
      step=step)
  g = state.sampler
  results, samples, labels = evaluator(gan, g, jax.random.key(seed), num_samples)

  out_dir = os.path.join(workdir, "eval", f"step_{step:07d}")
  os.makedirs(out_dir, exist_ok=True)
  np.savez_compressed(os.path.join(out_dir, "samples.npz"), samples=samples,
                      **({} if labels is None else {"labels": labels}))
  extras = task.write_evaluation(out_dir, gan, g, samples, labels, seed)
  with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
    json.dump({"step": step, "measured_on": evaluator.describe(num_samples), **results,
               **extras}, f, indent=1)
  report = task.report(extras)
  print(f"{workdir} at step {step}: {evaluator.describe(num_samples)}\n")
  print(evaluator.markdown(results))
  if report:
    print(f"\n{report}")
  print(f"\nSamples, pictures and metrics.json in {out_dir}")
  return results


def main(argv):
  del argv
  trainer.log_to_console()
  try:
    evaluate_workdir(FLAGS.workdir, step=FLAGS.step, num_samples=FLAGS.num_samples,
                     seed=FLAGS.seed)
  except FileNotFoundError as e:
    sys.exit(str(e))


if __name__ == "__main__":
  app.run(main)

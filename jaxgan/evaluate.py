"""Evaluates a finished (or running) workdir: `python -m jaxgan.evaluate --workdir runs/default`.

Restores the newest checkpoint (or `--step`) with the config saved beside it, draws
`--num_samples` samples, prints the metrics as a table, and writes the samples
(`samples.npz`, with their `labels` for a conditional GAN), a sample grid (one row
per class when conditional), a latent interpolation grid and, for a multi-scale
generator, a grid of every scale (`scales.png`) to `WORKDIR/eval/step_<n>/`. For words it
writes the strings (`samples.txt`, one a line, and a picture of the first 64) and prints
their length histogram beside the held-out words' (also in `metrics.json`). For a table it
writes the rows (`samples.csv`), a picture of every column beside the held-out rows, and
each column's distance from them (printed, and in `metrics.json`). For audio it writes a
grid of clips as one WAV file (`samples.wav`) with their spectrograms (`samples.png`), and the
first 100 clips alone (`clips/00000.wav`, ..., with `_class<k>` when conditional).
"""

import json
import os
import sys

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import app, flags

from jaxgan import (audio, checkpointing, data, evaluation, metrics, pictures, tabular, text,
                    trainer)
from jaxgan.state import init_state

flags.DEFINE_string("workdir", None, "The training workdir.", required=True)
flags.DEFINE_integer("step", None, "Checkpoint step; default the newest.")
flags.DEFINE_integer("num_samples", 10_000, "Generated samples to measure.")
flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
FLAGS = flags.FLAGS


def _tuples(value):
  """The config as written, with JSON's lists turned back into the tuples it held."""
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  return value


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
  config = ml_collections.ConfigDict(_tuples(manager.restore(step, args=ocp.args.Composite(
      config=ocp.args.JsonRestore())).config))
  evaluator = evaluation.Evaluator(
      config, cache_dir=config.eval_cache_dir or evaluation.default_cache_dir())
  data_shape = evaluator.data_shape
  gan = trainer.build_gan(config, data_shape)
  state = checkpointing.restore_or_init(
      manager, init_state(gan, jax.random.key(config.seed), data_shape), config, step=step)
  g = state.sampler
  results, samples, labels = evaluator(gan, g, jax.random.key(seed), num_samples)

  out_dir = os.path.join(workdir, "eval", f"step_{step:07d}")
  results_file = {}  # What metrics.json holds besides the metrics.
  os.makedirs(out_dir, exist_ok=True)
  np.savez_compressed(os.path.join(out_dir, "samples.npz"), samples=samples,
                      **({} if labels is None else {"labels": labels}))
  if evaluator.kind == "words":
    strings = text.decode(samples, evaluator.words.vocabulary)
    evaluation.save_strings(os.path.join(out_dir, "samples.txt"), strings)
    pictures.save_png(os.path.join(out_dir, "samples.png"), pictures.text_picture(strings[:64]))
    results_file["length_histogram"] = {
        "generated": metrics.length_histogram(strings, config.sequence_length).tolist(),
        "held_out": metrics.length_histogram(evaluator.words.held_out,
                                             config.sequence_length).tolist()}
  elif evaluator.kind == "table":
    table = evaluator.table
    rows = tabular.decode(table, samples)
    rows.to_csv(os.path.join(out_dir, "samples.csv"), index=False)
    pictures.save_png(os.path.join(out_dir, "samples.png"),
                      pictures.table_picture(rows, table.test, table.categorical))
    results_file["columns"] = metrics.column_distances(table.test, rows, table.categorical)
  elif evaluator.kind == "audio":  # 32 clips, or 4 per class when conditional; 100 alone.
    grid = np.asarray(evaluation.generate_fn(gan)(g, *evaluation.grid_inputs(
        gan, jax.random.key(seed + 2), 4 * gan.num_classes or 32)))
    rate = config.audio.sample_rate
    audio.write_wav(os.path.join(out_dir, "samples.wav"), grid, rate)
    pictures.save_png(os.path.join(out_dir, "samples.png"), evaluation.grid_picture(gan, grid))
    os.makedirs(os.path.join(out_dir, "clips"), exist_ok=True)
    for i, clip in enumerate(samples[:100]):
      label = "" if labels is None else f"_class{labels[i]}"
      audio.write_wav(os.path.join(out_dir, "clips", f"{i:05d}{label}.wav"), clip[None], rate)
  elif samples.ndim == 2:
    dataset = data.get(config.dataset, seed=seed, image_size=0)
    pictures.save_png(os.path.join(out_dir, "samples.png"), pictures.scatter_picture(
        samples, dataset.mode_centers, real=dataset.batch(0, len(samples))))
  else:  # 64 images, or 10 per class when conditional.
    grid = np.asarray(evaluation.generate_fn(gan)(g, *evaluation.grid_inputs(
        gan, jax.random.key(seed + 2), 10 * gan.num_classes or 64)))
    pictures.save_png(os.path.join(out_dir, "samples.png"), evaluation.grid_picture(gan, grid))
    interpolation = evaluation.interpolate(gan, g, jax.random.key(seed + 1), rows=8, cols=10)
    pictures.save_png(os.path.join(out_dir, "interpolation.png"),
                      pictures.image_grid(interpolation, cols=10))
    scales = evaluation.scales_picture(gan, g, jax.random.key(seed + 3))
    if scales is not None:  # A multi-scale generator: every scale, one row each.
      pictures.save_png(os.path.join(out_dir, "scales.png"), scales)
  with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
    json.dump({"step": step, "measured_on": evaluator.describe(num_samples), **results,
               **results_file}, f, indent=1)
  print(f"{workdir} at step {step}: {evaluator.describe(num_samples)}\n")
  print("| metric | value |\n|---|---|")
  for name, value in results.items():
    total = f"/{evaluator.totals[name]}" if name in evaluator.totals else ""
    print(f"| {name.removeprefix('eval/')} | {value:.4g}{total} |")
  if "length_histogram" in results_file:
    print("\n| length | generated | held out |\n|---|---|---|")
    for length, pair in enumerate(zip(*results_file["length_histogram"].values())):
      print(f"| {length} | {pair[0]:.3f} | {pair[1]:.3f} |")
  if "columns" in results_file:
    print("\n| column | kind | distance |\n|---|---|---|")
    for name, distance in results_file["columns"].items():
      kind = "categorical (TV)" if name in evaluator.table.categorical else "continuous (KS)"
      print(f"| {name} | {kind} | {distance:.3f} |")
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

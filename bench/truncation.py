"""The truncation trick's trade: precision (quality) against recall (variety) as psi falls.

  .venv/bin/python bench/truncation.py                      # trains the default first
  .venv/bin/python bench/truncation.py --workdir runs/default --out docs/generation

Samples the generator of `--workdir` (its best checkpoint; without one, the default config
is trained for 3,000 steps first, ~3 min) with psi from 1.0 to 0.4, 2,000 samples each,
the same latents at every psi, and prints FD, precision and recall against the real
digits in jaxgan's classifier's features. With `--out`, writes `truncation.png`: the
metrics against psi above one row of samples per psi.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jaxgan  # noqa: E402
from jaxgan import command_line, evaluation, pictures, tasks, trainer  # noqa: E402

PSIS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)


def sweep(workdir: str, num: int, seed: int) -> tuple[list[dict], list[np.ndarray]]:
  """Each psi's metrics, and 10 of its samples (the same latents at every psi)."""
  g = jaxgan.load(workdir)
  config = g.config
  evaluator = tasks.from_config(config).evaluator(evaluation.default_cache_dir())
  latents, labels = g.latents(num, seed), g.labels(num)
  results, rows = [], []
  for psi in PSIS:
    samples = g.outputs(latents, labels, truncation=psi, seed=seed)
    results.append(evaluator.measure(samples, None if labels is None else np.asarray(labels)))
    rows.append(samples[:10])
  return results, rows


def picture(results: list[dict], rows: list[np.ndarray]) -> np.ndarray:
  plt = pictures.pyplot()
  fig, ax = plt.subplots(figsize=(5, 3))
  for name in ("precision", "recall"):
    ax.plot(PSIS, [r[f"eval/{name}"] for r in results], marker="o", label=name)
  ax.set_xlabel("truncation psi")
  ax.invert_xaxis()
  ax.legend()
  ax.grid(alpha=0.3)
  plot = pictures.canvas_picture(fig)
  grid = pictures.image_grid(np.concatenate(rows), cols=10, min_size=32)
  if grid.shape[-1] == 1:
    grid = np.repeat(grid, 3, axis=-1)
  width = max(plot.shape[1], grid.shape[1])
  pad = lambda image: np.pad(image, ((0, 0), (0, width - image.shape[1]), (0, 0)),  # noqa: E731
                             constant_values=255)
  return np.concatenate([pad(plot[..., :3]), pad(grid)])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default="")
  parser.add_argument("--num", type=int, default=2000)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  trainer.log_to_console()
  print(f"psi {', '.join(map(str, PSIS))}: {args.num} samples each of "
        f"{args.workdir or 'the default config, trained first'}", flush=True)
  with tempfile.TemporaryDirectory() as scratch:
    workdir = args.workdir
    if not workdir:
      workdir = scratch
      config = command_line.load_config_file(os.path.join(ROOT, "configs", "default.py"))
      config.num_devices = 1
      state = trainer.train_and_evaluate(config, workdir)
      if int(state.step) < config.num_train_steps:  # Stopped by SIGTERM or SIGINT.
        sys.exit(f"Stopped at step {int(state.step)}; no results.")
    results, rows = sweep(workdir, args.num, args.seed)
  print(f"\n{args.num} samples a psi, the same latents at every psi\n")
  print("| psi | FD | precision | recall | density | coverage |")
  print("|---|---|---|---|---|---|")
  for psi, r in zip(PSIS, results):
    print(f"| {psi} | {r['eval/fd_classifier']:.1f} | {r['eval/precision']:.3f} | "
          f"{r['eval/recall']:.3f} | {r['eval/density']:.3f} | {r['eval/coverage']:.3f} |")
  if args.out:
    os.makedirs(args.out, exist_ok=True)
    pictures.save_png(os.path.join(args.out, "truncation.png"), picture(results, rows))
    print(f"\nWrote {os.path.join(args.out, 'truncation.png')}")


if __name__ == "__main__":
  main()

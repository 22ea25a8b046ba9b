"""pix2pix and CycleGAN offline, several seeds, beside their baselines.

  .venv/bin/python bench/translation.py            # seeds 0-2 (~1 h on 2 CPU cores)
  .venv/bin/python bench/translation.py --seeds 0 --steps 200

Trains each offline translation config once per seed and prints the last evaluation on the
held-out (test split) digits, mean ± std over the seeds: for the paired tasks (edges to
digits, inpainting) L1, PSNR, SSIM and the Fréchet distance of the outputs to the targets
in jaxgan's digits classifier's features, beside the same U-Net trained on L1 alone
(`loss="no_adversary"`) and the identity (each source as its output); for the unpaired one
(thin to thick digits) the Fréchet distance to each target domain and the cycle
reconstruction error, beside the identity (each image left in its own domain).
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.families import mean_std, run  # noqa: E402
from jaxgan import command_line, evaluation, tasks, trainer  # noqa: E402

PAIRED = ("eval/l1", "eval/psnr", "eval/ssim", "eval/fd_classifier")
UNPAIRED = ("eval/fd_classifier", "eval/fd_classifier_to_a", "eval/fd_classifier_to_b",
            "eval/cycle_l1")
DIGITS = {"eval/l1": 3, "eval/psnr": 1, "eval/ssim": 3, "eval/cycle_l1": 3}
NO_ADVERSARY = {"loss": "no_adversary"}
# (row label, config, overrides, metrics); None as the config: the identity baseline of the
# config in the row before.
ROWS = (
    ("pix2pix, edges to digits", "pix2pix_digits_edges.py", {}, PAIRED),
    ("the U-Net on L1 alone", "pix2pix_digits_edges.py", NO_ADVERSARY, PAIRED),
    ("pix2pix, inpainting", "pix2pix_digits_inpaint.py", {}, PAIRED),
    ("the U-Net on L1 alone", "pix2pix_digits_inpaint.py", NO_ADVERSARY, PAIRED),
    ("identity (the masked digit)", None, {}, PAIRED),
    ("CycleGAN, thin and thick digits", "cyclegan_digits_thick.py", {}, UNPAIRED),
    ("identity (no translation)", None, {}, UNPAIRED),
)


def identity_baseline(name: str) -> dict[str, float]:
  """The metrics of config `name`'s task when every image is left as it is."""
  config = command_line.load_config_file(os.path.join(ROOT, "configs", name))
  task = tasks.from_config(config)
  evaluator = task.evaluator(config.eval_cache_dir or evaluation.default_cache_dir())
  return evaluator.identity_baseline(config.eval_num_samples)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--steps", type=int, default=None, help="Default: each config's.")
  args = parser.parse_args()
  trainer.log_to_console()
  print(f"Digits 32x32, seeds {args.seeds}; the last evaluation on the held-out test split; "
        f"mean ± std over seeds.\n")
  header = None
  last_config = None
  for label, name, overrides, metrics in ROWS:
    if metrics is not header:
      header = metrics
      names = [m.removeprefix("eval/") for m in metrics]
      print(f"\n| model | steps | wall s | {' | '.join(names)} |")
      print("|---|---|---|" + "---|" * len(names))
    if name is None:
      baseline = identity_baseline(last_config)
      cells = [f"{baseline[m]:.{DIGITS.get(m, 1)}f}" for m in metrics]
      print(f"| {label} | 0 | 0 | {' | '.join(cells)} |", flush=True)
      continue
    last_config = name
    runs = [run(name, seed, args.steps, overrides=overrides, metrics=metrics)
            for seed in args.seeds]
    cells = [mean_std([r[m] for r in runs], DIGITS.get(m, 1)) for m in metrics]
    print(f"| {label} | {runs[0]['steps']:,} | {np.mean([r['seconds'] for r in runs]):.0f} | "
          f"{' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
  main()

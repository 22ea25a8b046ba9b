"""Mode collapse on 2-D Gaussian mixtures: each loss family and remedy, one table.

  python bench/mode_collapse.py                 # ring8 and grid25, every setting
  python bench/mode_collapse.py --steps 500 --datasets ring8 --settings non_saturating

Trains configs/gaussians.py (MLP GAN) with each setting below, draws 2,500
samples and prints modes covered, % high-quality samples (within 3 std of a mode)
and the reverse KL of the mode histogram, as in the VEEGAN and PacGAN papers.
"""

import argparse
import os
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import gaussians  # noqa: E402
from jaxgan import data, generate, metrics, sample_latents, trainer  # noqa: E402

# name -> config overrides.
SETTINGS = {
    "minimax": {"loss": "minimax"},
    "non_saturating": {},
    "least_squares": {"loss": "least_squares"},
    "hinge": {"loss": "hinge"},
    "relativistic_average": {"loss": "relativistic_average"},
    "wasserstein + GP, n_critic 5": {
        "loss": "wasserstein", "n_critic": 5,
        "d_penalties": ({"name": "gradient_penalty", "weight": 0.1},),
        "d_optimizer": {"name": "adam", "learning_rate": 1e-3, "b1": 0.5, "b2": 0.9}},
    "non_saturating + R1": {"d_penalties": ({"name": "r1", "weight": 0.1},)},
    "hinge + spectral norm": {"loss": "hinge", "discriminator.spectral_norm": True},
    "non_saturating + instance noise": {"instance_noise": {"std": 0.2, "anneal_steps": 0}},
    "non_saturating + replay buffer": {"replay": {"size": 4096, "fraction": 0.5}},
    "non_saturating + historical averaging": {"historical_averaging_weight": 1e-3},
    "non_saturating + label smoothing 0.9": {"loss_kwargs": {"real_label": 0.9}},
}


def _config(dataset: str, overrides: dict, steps: int, seed: int):
  config = gaussians.get_config()
  config.dataset, config.seed, config.num_train_steps = dataset, seed, steps
  config.log_every_steps = config.sample_every_steps = config.checkpoint_every_steps = steps
  config.num_devices = 1
  config.eval_every_steps = 0  # Measured below instead.
  for field, value in overrides.items():
    parent, _, name = field.rpartition(".")
    (config[parent] if parent else config)[name] = value
  return config


def run(dataset: str, setting: str, steps: int, seed: int, num_samples: int) -> dict:
  """Trains one setting and measures its samples."""
  config = _config(dataset, SETTINGS[setting], steps, seed)
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    state = trainer.train_and_evaluate(config, workdir)
  seconds = time.perf_counter() - start
  gan = trainer.build_gan(config, (2,))
  samples = np.asarray(generate(gan, state.g, sample_latents(gan, jax.random.key(seed + 1),
                                                              num_samples)))
  centers, std = data.MIXTURES[dataset]
  return {"dataset": dataset, "setting": setting, "seconds": seconds,
          **metrics.mode_coverage(samples, centers, std)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
  parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
  parser.add_argument("--steps", type=int, default=5000)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--num_samples", type=int, default=2500)
  args = parser.parse_args()
  print(f"MLP GAN (configs/gaussians.py), {args.steps} steps, batch 256, seed {args.seed}, "
        f"{args.num_samples} samples; a mode counts with >= 20 high-quality samples.\n")
  print("| dataset | setting | modes | high quality | reverse KL | train s |")
  print("|---|---|---|---|---|---|")
  for dataset in args.datasets:
    for setting in args.settings:
      row = run(dataset, setting, args.steps, args.seed, args.num_samples)
      total = len(data.MIXTURES[dataset][0])
      print(f"| {dataset} | {setting} | {row['modes']}/{total} | "
            f"{100 * row['high_quality']:.1f}% | {row['reverse_kl']:.3f} | "
            f"{row['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
  main()

"""Mode collapse on 2-D Gaussian mixtures: each loss family and remedy, one table.

  python bench/mode_collapse.py                 # ring8 and grid25, every setting, seed 0
  python bench/mode_collapse.py --steps 500 --datasets ring8 --settings non_saturating
  python bench/mode_collapse.py --suite pacgan --seeds 0 1 2 3 4 --plots runs/pacgan

`--suite remedies` trains configs/gaussians.py (MLP GAN) with each setting below;
`--suite pacgan` trains configs/pacgan_ring.py (the PacGAN paper's models) unpacked and
packed 2, 3 and 4 samples deep, and prints the paper's published rows beside. Each run
draws 2,500 samples; the table gives modes covered (by at least 20 high-quality samples,
and by at least 1), % high-quality samples (within 3 std of a mode) and the reverse KL of
the mode histogram, as in the VEEGAN and PacGAN papers: mean ± std over `--seeds`.
`--plots DIR` saves each setting's final samples, one panel per seed.
"""

import argparse
import os
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import gaussians, pacgan_ring  # noqa: E402
from jaxgan import data, generate, metrics, pictures, sample_latents, trainer  # noqa: E402

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
    "non_saturating + packing 4": {"packing": 4},
    "non_saturating + minibatch discrimination": {"discriminator.minibatch_discrimination": 8},
    "non_saturating + minibatch stddev": {"discriminator.minibatch_stddev": 4},
    "non_saturating + unrolled 5": {"unrolled": {"steps": 5, "gradient": True},
                                    "d_optimizer.eps_root": 1e-8},
    "non_saturating + 4 past discriminators": {
        "past_discriminators": {"count": 4, "every": 250}},
}
PACGAN = {"GAN (PacGAN's models)": {}, **{
    f"PacGAN{m}": {"packing": m, "batch_size": 100 * m} for m in (2, 3, 4)}}
SUITES = {"remedies": (gaussians, SETTINGS), "pacgan": (pacgan_ring, PACGAN)}
# Lin et al. 2018, Table 1 (mean over 10 trials): modes, % high quality, reverse KL.
PUBLISHED = {
    "ring8": {"GAN": (6.3, 98.2, 0.45), "PacGAN2": (7.9, 95.6, 0.07),
              "PacGAN3": (7.8, 97.7, 0.10), "PacGAN4": (7.8, 95.9, 0.07)},
    "grid25": {"GAN": (17.3, 94.8, 0.70), "PacGAN2": (23.8, 91.3, 0.13),
               "PacGAN3": (24.6, 94.2, 0.06), "PacGAN4": (24.8, 93.6, 0.04)},
}


def _config(suite: str, dataset: str, setting: str, steps: int, seed: int):
  base, settings = SUITES[suite]
  config = base.get_config()
  config.dataset, config.seed, config.num_train_steps = dataset, seed, steps
  config.log_every_steps = config.sample_every_steps = config.checkpoint_every_steps = steps
  config.num_devices = 1
  config.eval_every_steps = 0  # Measured below instead.
  for field, value in settings[setting].items():
    parent, _, name = field.rpartition(".")
    (config[parent] if parent else config)[name] = value
  return config


def run(suite: str, dataset: str, setting: str, steps: int, seed: int, num_samples: int
        ) -> dict:
  """Trains one setting with one seed and measures its samples."""
  config = _config(suite, dataset, setting, steps, seed)
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    state = trainer.train_and_evaluate(config, workdir)
  seconds = time.perf_counter() - start
  gan = trainer.build_gan(config, (2,))
  samples = np.asarray(generate(gan, state.g, sample_latents(gan, jax.random.key(seed + 1),
                                                              num_samples)))
  centers, std = data.MIXTURES[dataset]
  return {"seconds": seconds, **metrics.mode_coverage(samples, centers, std),
          "modes_1": metrics.mode_coverage(samples, centers, std, min_count=1)["modes"],
          "samples": samples}


def save_plot(path: str, rows: list[dict], dataset: str) -> None:
  """The final samples of each seed over the mode centres, side by side, as one PNG."""
  centers = data.MIXTURES[dataset][0]
  pictures.save_png(path, np.concatenate(
      [pictures.scatter_picture(row["samples"], centers) for row in rows], axis=1))


def _mean_std(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
  values = scale * np.asarray(values, np.float64)
  return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--suite", default="remedies", choices=list(SUITES))
  parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
  parser.add_argument("--settings", nargs="+", help="default: every setting of the suite")
  parser.add_argument("--steps", type=int, help="default: the suite's config")
  parser.add_argument("--seeds", nargs="+", type=int, default=[0])
  parser.add_argument("--num_samples", type=int, default=2500)
  parser.add_argument("--plots", help="a folder for one PNG per setting: a panel per seed")
  args = parser.parse_args()
  base, settings = SUITES[args.suite]
  names = args.settings or list(settings)
  unknown = sorted(set(names) - set(settings))
  if unknown:
    parser.error(f"unknown settings {unknown}; the {args.suite} suite has {list(settings)}")
  steps = args.steps or base.get_config().num_train_steps
  print(f"{base.__name__}, {steps} steps, seeds {args.seeds}, {args.num_samples} samples; "
        f"mean ± std over seeds. modes: covered by >= 20 high-quality samples (VEEGAN); "
        f"modes >= 1: by at least one (PacGAN's code).\n")
  print("| dataset | setting | modes | modes >= 1 | high quality % | reverse KL | train s |")
  print("|---|---|---|---|---|---|---|")
  for dataset in args.datasets:
    total = len(data.MIXTURES[dataset][0])
    for setting in names:
      rows = [run(args.suite, dataset, setting, steps, seed, args.num_samples)
               for seed in args.seeds]
      column = lambda key: [row[key] for row in rows]  # noqa: E731
      print(f"| {dataset} | {setting} | {_mean_std(column('modes'))}/{total} | "
            f"{_mean_std(column('modes_1'))}/{total} | "
            f"{_mean_std(column('high_quality'), 100)} | "
            f"{_mean_std(column('reverse_kl'), digits=3)} | "
            f"{np.mean(column('seconds')):.0f} |", flush=True)
      if args.plots:
        os.makedirs(args.plots, exist_ok=True)
        name = "".join(c if c.isalnum() else "_" for c in setting)
        save_plot(os.path.join(args.plots, f"{dataset}_{name}.png"), rows, dataset)
    if args.suite == "pacgan":
      for name, (modes, quality, kl) in PUBLISHED[dataset].items():
        print(f"| {dataset} | {name}, published (10 trials, 400,000 steps) | | "
              f"{modes}/{total} | {quality} | {kl:.2f} | |")


if __name__ == "__main__":
  main()

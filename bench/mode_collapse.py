"""Mode collapse on 2-D Gaussian mixtures: each loss family and remedy, one table.

  .venv/bin/python bench/mode_collapse.py                 # ring8 and grid25, every setting, seed 0
  .venv/bin/python bench/mode_collapse.py --steps 500 --datasets ring8 --settings non_saturating
  .venv/bin/python bench/mode_collapse.py --suite pacgan --seeds 0 1 2 3 4 --plots runs/pacgan
  .venv/bin/python bench/mode_collapse.py --seeds 0 1 --results a.jsonl   # then, from any number:
  .venv/bin/python bench/mode_collapse.py --tabulate a.jsonl b.jsonl --plots runs/plots

`--suite remedies` trains the plain MLP GAN of configs/gaussians.py (`base_config`) with
each setting below; `--suite pacgan` trains configs/pacgan_ring.py (the PacGAN paper's
models) unpacked and packed 2, 3 and 4 samples deep, and prints the paper's published rows
beside; `--suite search` tries combinations on PacGAN's models. Each run draws 2,500
samples from G (its EMA when there is one); the table gives modes covered (by at least 20
high-quality samples, and by at least 1), % high-quality samples (within 3 std of a mode)
and the reverse KL of the mode histogram, as in the VEEGAN and PacGAN papers: mean ± std
and median over `--seeds`. `--plots DIR` saves each setting's final samples, one panel per
seed; `--results FILE` appends each run as it ends, and `--tabulate` prints saved runs.
"""

import argparse
import fcntl
import json
import os
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import gaussians, pacgan_ring  # noqa: E402
from jaxgan import generate, metrics, pictures, sample_latents, trainer  # noqa: E402
from jaxgan.tasks import DataSpec, mixture  # noqa: E402

# Both learning rates falling to 0 along a cosine by the last step.
COSINE = {"g_optimizer.decay": "cosine", "d_optimizer.decay": "cosine"}
# WGAN-GP for these small models: a gentle penalty, and D's Adam as Gulrajani et al. set it.
WGAN_GP = {"loss": "wasserstein", "n_critic": 5,
           "d_penalties": ({"name": "gradient_penalty", "weight": 0.1},),
           "d_optimizer": {"name": "adam", "learning_rate": 1e-3, "b1": 0.5, "b2": 0.9}}
# The grid's long runs: WGAN-GP with 2 D updates, an EMA G and both learning rates decayed.
WGAN_GP_LONG = {**WGAN_GP, "n_critic": 2, "g_ema_decay": 0.999, **COSINE}
# ... with a deeper, wider G (4x256 instead of 3x128).
WGAN_GP_BIG_G = {**WGAN_GP_LONG, "generator.hidden_dims": (256, 256, 256, 256)}
# name -> config overrides.
SETTINGS = {
    "minimax": {"loss": "minimax"},
    "non_saturating": {},
    "least_squares": {"loss": "least_squares"},
    "hinge": {"loss": "hinge"},
    "relativistic_average": {"loss": "relativistic_average"},
    "wasserstein + GP, n_critic 5": WGAN_GP,
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
    "non_saturating + EMA G": {"g_ema_decay": 0.999},
    "non_saturating + packing 4 + EMA G": {"packing": 4, "g_ema_decay": 0.999},
    "non_saturating + packing 2 + EMA G": {"packing": 2, "g_ema_decay": 0.999},
    "non_saturating + packing 4, batch 1024 + EMA G": {
        "packing": 4, "batch_size": 1024, "g_ema_decay": 0.999},
    "non_saturating + EMA G, 40,000 steps": {"g_ema_decay": 0.999, "num_train_steps": 40_000},
    "non_saturating + EMA G, cosine decay, 100,000 steps": {
        "g_ema_decay": 0.999, **COSINE, "num_train_steps": 100_000},
    "non_saturating + packing 4 + EMA G, cosine decay, 100,000 steps": {
        "packing": 4, "g_ema_decay": 0.999, **COSINE, "num_train_steps": 100_000},
    "non_saturating + packing 4, batch 1024 + EMA G, cosine decay, 100,000 steps": {
        "packing": 4, "batch_size": 1024, "g_ema_decay": 0.999, **COSINE,
        "num_train_steps": 100_000},
    "wasserstein + GP, n_critic 2 + EMA G, cosine decay, 100,000 steps": {
        **WGAN_GP_LONG, "num_train_steps": 100_000},
    "wasserstein + GP, n_critic 2 + EMA G, cosine decay, 200,000 steps": {
        **WGAN_GP_LONG, "num_train_steps": 200_000},
    "wasserstein + GP, n_critic 2, G 4x256 + EMA G, cosine decay, 50,000 steps": {
        **WGAN_GP_BIG_G, "num_train_steps": 50_000},
    "wasserstein + GP, n_critic 2, G 4x256, latent 16 + EMA G, cosine decay, 100,000 steps": {
        **WGAN_GP_BIG_G, "latent_dim": 16, "num_train_steps": 100_000},
}
PACGAN = {"GAN (PacGAN's models)": {}, **{
    f"PacGAN{m}": {"packing": m, "batch_size": 100 * m} for m in (2, 3, 4)}}
# Combinations tried to beat PacGAN4's published rows, on its models.
EMA = {"g_ema_decay": 0.999}
PACKED = {"packing": 4, "batch_size": 400}
SEARCH = {
    "GAN + EMA G": EMA,
    "PacGAN2 + EMA G": {"packing": 2, "batch_size": 200, **EMA},
    "PacGAN4 + EMA G": {**PACKED, **EMA},
    "PacGAN4 + EMA G, 40,000 steps": {**PACKED, **EMA, "num_train_steps": 40_000},
    "PacGAN4 + EMA G + minibatch stddev": {
        **PACKED, **EMA, "discriminator.minibatch_stddev": 4},
    "PacGAN4 + EMA G + 4 past discriminators, alternating": {  # Past Ds need alternating.
        **PACKED, **EMA, "past_discriminators": {"count": 4, "every": 500},
        "schedule": "alternating"},
}
# name -> (the config the settings change, the settings).
SUITES = {"remedies": (gaussians.base_config, SETTINGS),
          "pacgan": (pacgan_ring.get_config, PACGAN),
          "search": (pacgan_ring.get_config, SEARCH)}
# Lin et al. 2018, Table 1 (mean over 10 trials): modes, % high quality, reverse KL.
PUBLISHED = {
    "ring8": {"GAN": (6.3, 98.2, 0.45), "PacGAN2": (7.9, 95.6, 0.07),
              "PacGAN3": (7.8, 97.7, 0.10), "PacGAN4": (7.8, 95.9, 0.07)},
    "grid25": {"GAN": (17.3, 94.8, 0.70), "PacGAN2": (23.8, 91.3, 0.13),
               "PacGAN3": (24.6, 94.2, 0.06), "PacGAN4": (24.8, 93.6, 0.04)},
}


def _config(suite: str, dataset: str, setting: str, seed: int, steps: int | None):
  base_config, settings = SUITES[suite]
  config = base_config()
  config.dataset, config.seed = dataset, seed
  for field, value in settings[setting].items():
    parent, _, name = field.rpartition(".")
    (config[parent] if parent else config)[name] = value
  if steps:
    config.num_train_steps = steps
  config.log_every_steps = config.sample_every_steps = config.checkpoint_every_steps = (
      config.num_train_steps)
  config.num_devices = 1
  config.eval_every_steps = 0  # Measured below instead.
  return config


def run(suite: str, dataset: str, setting: str, seed: int, steps: int | None, num_samples: int
        ) -> dict:
  """Trains one setting with one seed and measures the samples of its (EMA) generator."""
  config = _config(suite, dataset, setting, seed, steps)
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    state = trainer.train_and_evaluate(config, workdir)
  seconds = time.perf_counter() - start
  gan = trainer.build_gan(config, DataSpec((2,)))
  latents = sample_latents(gan, jax.random.key(seed + 1), num_samples)
  samples = np.asarray(generate(gan, state.sampler, latents))
  centers, std = mixture.MIXTURES[dataset]
  return {"suite": suite, "dataset": dataset, "setting": setting, "seed": seed,
          "steps": config.num_train_steps, "seconds": seconds,
          **metrics.mode_coverage(samples, centers, std),
          "modes_1": metrics.mode_coverage(samples, centers, std, min_count=1)["modes"],
          "samples": samples}


def save_result(path: str, row: dict) -> None:
  """Appends one run as a JSON line (samples to 4 decimals), safely from many processes."""
  line = json.dumps({**row, "samples": np.round(row["samples"], 4).tolist()}) + "\n"
  with open(path, "a") as file:
    fcntl.flock(file, fcntl.LOCK_EX)
    file.write(line)


def load_results(paths: list[str]) -> list[dict]:
  """The runs `save_result` wrote to `paths`, in order, samples as `[n, 2]` arrays."""
  rows = []
  for path in paths:
    with open(path) as file:
      rows += [json.loads(line) for line in file if line.strip()]
  return [{**row, "samples": np.asarray(row["samples"], np.float32)} for row in rows]


def save_plot(path: str, rows: list[dict], dataset: str) -> None:
  """The final samples of each seed over the mode centres, side by side, as one PNG."""
  centers = mixture.MIXTURES[dataset][0]
  pictures.save_png(path, np.concatenate(
      [pictures.scatter_picture(row["samples"], centers) for row in rows], axis=1))


def _mean_std(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
  values = scale * np.asarray(values, np.float64)
  return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


HEADER = ("| dataset | setting | seeds | steps | modes | modes >= 1 | high quality % | "
          "reverse KL | median: modes, HQ %, KL | train s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def print_row(runs: list[dict], plots: str | None) -> None:
  """The line of one (dataset, setting): mean ± std over its seeds, then the medians."""
  dataset, setting = runs[0]["dataset"], runs[0]["setting"]
  total = len(mixture.MIXTURES[dataset][0])
  column = lambda key: [run[key] for run in runs]  # noqa: E731
  print(f"| {dataset} | {setting} | {len(runs)} | {runs[0]['steps']} | "
        f"{_mean_std(column('modes'))}/{total} | {_mean_std(column('modes_1'))}/{total} | "
        f"{_mean_std(column('high_quality'), 100)} | "
        f"{_mean_std(column('reverse_kl'), digits=3)} | {np.median(column('modes')):g}, "
        f"{100 * np.median(column('high_quality')):.1f}, "
        f"{np.median(column('reverse_kl')):.3f} | {np.mean(column('seconds')):.0f} |", flush=True)
  if plots:
    os.makedirs(plots, exist_ok=True)
    name = "".join(c if c.isalnum() else "_" for c in setting)
    save_plot(os.path.join(plots, f"{dataset}_{name}.png"), runs, dataset)


def print_published(dataset: str) -> None:
  total = len(mixture.MIXTURES[dataset][0])
  for name, (modes, quality, kl) in PUBLISHED[dataset].items():
    print(f"| {dataset} | {name}, published | 10 | 400000 | | {modes}/{total} | {quality} | "
          f"{kl:.2f} | | |")


def print_table(rows: list[dict], plots: str | None) -> None:
  """A line per (dataset, setting) in first-seen order; PacGAN's rows after each dataset
  that has PacGAN runs."""
  groups: dict[tuple[str, str], list[dict]] = {}
  for row in rows:
    groups.setdefault((row["dataset"], row["setting"]), []).append(row)
  print(HEADER)
  for dataset in dict.fromkeys(dataset for dataset, _ in groups):
    for (group_dataset, _), runs in groups.items():
      if group_dataset == dataset:
        print_row(runs, plots)
    if any(run["suite"] == "pacgan" for run in rows if run["dataset"] == dataset):
      print_published(dataset)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--suite", default="remedies", choices=list(SUITES))
  parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
  parser.add_argument("--settings", nargs="+", help="default: every setting of the suite")
  parser.add_argument("--steps", type=int, help="default: the config's (or setting's)")
  parser.add_argument("--seeds", nargs="+", type=int, default=[0])
  parser.add_argument("--num_samples", type=int, default=2500)
  parser.add_argument("--plots", help="a folder for one PNG per setting: a panel per seed")
  parser.add_argument("--results", help="a JSON-lines file each run is appended to")
  parser.add_argument("--tabulate", nargs="+", metavar="RESULTS",
                      help="print the table of these --results files instead of training")
  args = parser.parse_args()
  if args.tabulate:
    print_table(load_results(args.tabulate), args.plots)
    return
  names = args.settings or list(SUITES[args.suite][1])
  unknown = sorted(set(names) - set(SUITES[args.suite][1]))
  if unknown:
    parser.error(f"unknown settings {unknown}; the {args.suite} suite has "
                 f"{list(SUITES[args.suite][1])}")
  print(f"{SUITES[args.suite][0].__module__}, seeds {args.seeds}, {args.num_samples} samples; "
        f"mean ± std over seeds. modes: covered by >= 20 high-quality samples (VEEGAN); "
        f"modes >= 1: by at least one (PacGAN's code).\n")
  print(HEADER)
  for dataset in args.datasets:
    for setting in names:
      runs = []
      for seed in args.seeds:
        runs.append(run(args.suite, dataset, setting, seed, args.steps, args.num_samples))
        if args.results:  # Each run as it ends, so that a stopped sweep keeps what it did.
          save_result(args.results, runs[-1])
      print_row(runs, args.plots)
    if args.suite == "pacgan":
      print_published(dataset)


if __name__ == "__main__":
  main()

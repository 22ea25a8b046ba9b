"""jaxgan's tabular GAN against `ctgan` (CTGAN's reference implementation, PyTorch) on the
same table, the same number of steps and the same metrics, in one run.

  .venv/bin/python bench/tabular.py   # anes96, seeds 0-2 (~12 min on 2 CPU cores)
  .venv/bin/python bench/tabular.py --seeds 0 --steps 1000

Trains configs/tabular_anes96.py once per seed (and its variants: without the conditional
vector, and with straight-through categories), then `ctgan.CTGAN` with its default
settings, which the config shares (256-256 MLPs, latent 128, batch 500, Adam 2e-4 (0.5,
0.9), WGAN-GP, conditional vector with training-by-sampling, Gumbel-softmax at 0.2), for
as many steps. Both are measured by jaxgan's evaluator on 5,000 generated rows against the
held-out fifth of the voters, beside two references: the real training rows (the floor)
and a tenth of them alone (what augmentation starts from). Wall times include data
preparation and, for jaxgan, compilation and the evaluations every 1,000 steps.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import families  # noqa: E402
from configs import tabular_anes96  # noqa: E402
from jaxgan import table_metrics, tasks, trainer  # noqa: E402
from jaxgan.tasks.table import TableEvaluator  # noqa: E402

COLUMNS = ("marginal", "ks", "tv", "association", "efficacy", "augmented")
VARIANTS = {"jaxgan": {}, "jaxgan, no conditional vector": {"conditional": False},
            "jaxgan, straight-through": {"generator.output": "straight_through"}}


def run_ctgan(seed: int, steps: int, evaluator: TableEvaluator, batch_size: int,
              num_samples: int) -> dict[str, float]:
  """CTGAN fitted for `steps` steps of its batch; its samples' metrics and the wall time."""
  import ctgan  # pylint: disable=import-outside-toplevel
  table = evaluator.table
  steps_per_epoch = max(1, len(table.train) // batch_size)  # As CTGAN counts them.
  epochs = max(1, steps // steps_per_epoch)
  model = ctgan.CTGAN(batch_size=batch_size, epochs=epochs, enable_gpu=False)
  model.set_random_state(seed)
  start = time.perf_counter()
  model.fit(table.train, discrete_columns=table.categorical)
  rows = model.sample(num_samples)
  seconds = time.perf_counter() - start
  return {"seconds": seconds, "steps": epochs * steps_per_epoch,
          **evaluator.measure_rows(rows[list(table.train.columns)])}


def references(evaluator: TableEvaluator) -> dict[str, dict[str, float]]:
  """The metrics of the real training rows, and the efficacy of the small real split."""
  table = evaluator.table
  floor = table_metrics.table_metrics(table.test, table.train, table.categorical)
  efficacy = evaluator.references
  return {"real training rows (floor)": floor | {"efficacy": efficacy["efficacy_real"]},
          "a tenth of them alone": {"efficacy": efficacy["efficacy_small_real"]}}


def cell(values: list[float]) -> str:
  return families.mean_std(values, 3) if values else ""


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--steps", type=int, default=None, help="default: the config's")
  parser.add_argument("--variants", nargs="+", default=list(VARIANTS) + ["ctgan"])
  args = parser.parse_args()
  trainer.log_to_console()
  config = tabular_anes96.get_config()
  steps = args.steps or config.num_train_steps
  evaluator = tasks.from_config(config).evaluator(cache_dir="")
  print(f"{evaluator.describe(config.eval_num_samples)}; seeds {args.seeds}, mean ± std. "
        f"marginal: mean of ks (continuous columns) and tv (categorical); association: "
        f"mean |difference| of the association matrices; augmented: a tenth of the real "
        f"training rows plus the generated ones.\n")
  print("| rows | steps | wall s | " + " | ".join(COLUMNS) + " |")
  print("|---|---|---|" + "---|" * len(COLUMNS))
  for name, results in references(evaluator).items():
    print(f"| {name} | | | " + " | ".join(f"{results[c]:.3f}" if c in results else ""
                                         for c in COLUMNS) + " |", flush=True)
  for name in args.variants:
    if name == "ctgan":
      runs = [run_ctgan(seed, steps, evaluator, config.batch_size, config.eval_num_samples)
              for seed in args.seeds]
    else:
      runs = [families.run("tabular_anes96.py", seed, steps, overrides=VARIANTS[name],
                           metrics=tuple(f"eval/{c}" for c in COLUMNS)) for seed in args.seeds]
    print(f"| {name} | {runs[0]['steps']:,} | {families.mean_std([r['seconds'] for r in runs], 0)}"
          f" | " + " | ".join(cell([r[f"eval/{c}"] for r in runs]) for c in COLUMNS) + " |",
          flush=True)


if __name__ == "__main__":
  main()

"""The model families on one footing: the bundled digits, the same step and metrics, several seeds.

  .venv/bin/python bench/families.py   # every digits config, seeds 0-2 (~45 min)
  .venv/bin/python bench/families.py --configs msg_digits.py --seeds 0

Trains each config of `--configs` (from configs/) once per seed and prints, as mean ±
std over the seeds, the wall time and the metrics of the evaluation at the last step
(2,000 samples against the 1,437 real training digits, in the features of jaxgan's
classifier). Then trains the DCGAN default for as long, in wall-clock time, as the
slowest family took, so that the families can be compared at equal time too.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from jaxgan import command_line, trainer  # noqa: E402

CONFIGS = ("default.py", "sngan_digits.py", "msg_digits.py", "progressive_digits.py",
           "stylegan2_digits.py")
METRICS = ("eval/fd_classifier", "eval/kid", "eval/precision", "eval/recall")


def run(name: str, seed: int, steps: int | None = None, *, overrides: dict | None = None,
        metrics: tuple[str, ...] = METRICS) -> dict[str, float]:
  """Trains config `name` with `seed` (and `steps` and flattened field `overrides`, e.g.
  `{"generator.output": "softmax"}`, if given); wall time and the last evaluation's
  `metrics`."""
  config = command_line.load_config_file(os.path.join(ROOT, "configs", name))
  config.seed = seed
  config.num_devices = 1
  config.update_from_flattened_dict(overrides or {})
  if steps:
    config.num_train_steps = steps
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    state = trainer.train_and_evaluate(config, workdir)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  if int(state.step) < config.num_train_steps:  # Stopped by SIGTERM or SIGINT.
    sys.exit(f"Stopped at step {int(state.step)} of {name}; no results.")
  last = [row for row in rows if metrics[0] in row][-1]
  return {"seconds": time.perf_counter() - start, "steps": config.num_train_steps,
          **{k: last[k] for k in metrics}}


def mean_std(values: list[float], digits: int) -> str:
  """`"mean ± std"`, or the value alone when there is one."""
  if len(values) == 1:
    return f"{values[0]:.{digits}f}"
  return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def print_row(label: str, runs: list[dict]) -> None:
  print(f"| {label} | {runs[0]['steps']:,} | {mean_std([r['seconds'] for r in runs], 0)} | "
        f"{mean_std([r['eval/fd_classifier'] for r in runs], 1)} | "
        f"{mean_std([r['eval/kid'] for r in runs], 0)} | "
        f"{mean_std([r['eval/precision'] for r in runs], 2)} | "
        f"{mean_std([r['eval/recall'] for r in runs], 2)} |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  args = parser.parse_args()
  trainer.log_to_console()
  print(f"Digits 16x16, seeds {args.seeds}; FID and KID in jaxgan's classifier features, "
        f"2,000 samples at the last step; mean ± std over seeds.\n")
  print("| config | steps | wall s | FID | KID | precision | recall |")
  print("|---|---|---|---|---|---|---|")
  results = {}
  for name in args.configs:
    results[name] = [run(name, seed) for seed in args.seeds]
    print_row(name, results[name])
  slowest = max(np.mean([r["seconds"] for r in runs]) for runs in results.values())
  default = results.get("default.py")
  if default and slowest > 1.2 * np.mean([r["seconds"] for r in default]):
    rate = np.mean([r["steps"] / r["seconds"] for r in default])
    steps = int(round(slowest * rate, -2))
    print_row("default.py at the slowest family's time",
              [run("default.py", seed, steps) for seed in args.seeds])


if __name__ == "__main__":
  main()

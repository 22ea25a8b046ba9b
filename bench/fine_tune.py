"""Fine-tuning against training from scratch on a few images of new classes.

  .venv/bin/python bench/fine_tune.py            # 3 seeds, ~30 min on 2 cores
  .venv/bin/python bench/fine_tune.py --seeds 0 --per_class 5

Pretrains the default config (DCGAN, EMA, lazy R1) on every training image of the digits
0-4, then trains on `--per_class` images of each of the digits 5-9 for `--steps` steps:
from scratch, fine-tuned from the pretrained G and D (`init_from`), and fine-tuned with
D's first layer frozen (FreezeD, `freeze_d_layers`; the default's D has three). Prints
the FD against every training image of the digits 5-9 (in jaxgan's classifier's features)
at every evaluation, and the last one's precision and recall, as mean ± std over the seeds.
"""

import argparse
import json
import os
import sys
import tempfile
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.families import mean_std  # noqa: E402
from jaxgan import command_line, trainer  # noqa: E402

SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


def train(workdir: str, seed: int, steps: int, **fields) -> dict[str, Any]:
  """Trains the default config with `fields` changed into `workdir`; the FD of every
  evaluation by step, and the last precision and recall."""
  config = command_line.load_config_file(os.path.join(ROOT, "configs", "default.py"))
  config.seed, config.num_devices, config.num_train_steps = seed, 1, steps
  config.eval_every_steps = config.checkpoint_every_steps = min(500, steps)
  for name, value in fields.items():
    parent, _, key = name.rpartition(".")
    (config[parent] if parent else config)[key] = value
  state = trainer.train_and_evaluate(config, workdir)
  if int(state.step) < steps:  # Stopped by SIGTERM or SIGINT.
    sys.exit(f"Stopped at step {int(state.step)} of {workdir}; no results.")
  rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  evaluations = [row for row in rows if "eval/fd_classifier" in row]
  return {"fd": {row["step"]: row["eval/fd_classifier"] for row in evaluations},
          "precision": evaluations[-1]["eval/precision"],
          "recall": evaluations[-1]["eval/recall"]}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--per_class", type=int, default=10)
  parser.add_argument("--pretrain_steps", type=int, default=3000)
  parser.add_argument("--steps", type=int, default=1500)
  parser.add_argument("--freeze", type=int, default=1, help="D layers FreezeD keeps.")
  args = parser.parse_args()
  trainer.log_to_console()
  print(f"{args.per_class} images of each of the digits {TARGET} ({args.steps} steps), after "
        f"pretraining on every image of the digits {SOURCE} ({args.pretrain_steps} steps); "
        f"seeds {args.seeds}.\n", flush=True)
  target = {"task_kwargs.classes": TARGET, "task_kwargs.per_class": args.per_class}
  rows = {"from scratch": [], "fine-tuned": [], f"fine-tuned, FreezeD {args.freeze}": []}
  with tempfile.TemporaryDirectory() as root:
    for seed in args.seeds:
      pretrained = os.path.join(root, f"pretrained{seed}")
      train(pretrained, seed, args.pretrain_steps, **{"task_kwargs.classes": SOURCE})
      for (name, runs), extra in zip(rows.items(), (
          {}, {"init_from": pretrained},
          {"init_from": pretrained, "freeze_d_layers": args.freeze})):
        runs.append(train(os.path.join(root, f"{name}{seed}"), seed, args.steps,
                          **target, **extra))
  steps = sorted(rows["from scratch"][0]["fd"])
  print(f"| start | {' | '.join(f'FD at {s:,}' for s in steps)} | precision | recall |")
  print("|---|" + "---|" * (len(steps) + 2))
  for name, runs in rows.items():
    fds = " | ".join(mean_std([r["fd"][s] for r in runs], 1) for s in steps)
    print(f"| {name} | {fds} | {mean_std([r['precision'] for r in runs], 2)} | "
          f"{mean_std([r['recall'] for r in runs], 2)} |")


if __name__ == "__main__":
  main()

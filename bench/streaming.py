"""Host memory and input waits of streamed image folders: peak RSS while preparing and
while training on folders of 1,000, 10,000 and 100,000 generated images, and the fraction
of wall time the training loop waited for data, on those folders and on the DCGAN default.

  .venv/bin/python bench/streaming.py                        # 1k, 10k, 100k images at 32px
  .venv/bin/python bench/streaming.py --sizes 1000 5000 --steps 100

Each run is `train.py` in a fresh process (the first on a folder prepares it, the second
only trains), its peak resident memory read from the kernel's accounting of that child
(`os.wait4`). The images are PNG files of coloured rectangles on noise, in 2 subfolders,
written once into `--out`.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_images(folder: str, start: int, stop: int, size: int) -> None:
  rng = np.random.default_rng(start)
  for i in range(start, stop):
    image = rng.integers(0, 64, (size, size, 3), dtype=np.uint8)
    top, left = rng.integers(0, size // 2, 2)
    image[top:top + size // 2, left:left + size // 2] = rng.integers(0, 255, 3)
    Image.fromarray(image).save(os.path.join(folder, f"class{i % 2}", f"{i}.png"))


def make_folder(path: str, count: int, size: int, jobs: int) -> None:
  """`count` generated PNG images under `path`, unless it holds them already."""
  if os.path.exists(os.path.join(path, "done")):
    return
  for name in ("class0", "class1"):
    os.makedirs(os.path.join(path, name), exist_ok=True)
  bounds = np.linspace(0, count, jobs * 8 + 1).astype(int)
  with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
    list(pool.map(_write_images, [path] * (len(bounds) - 1), bounds[:-1], bounds[1:],
                  [size] * (len(bounds) - 1)))
  open(os.path.join(path, "done"), "w").close()


def train(flags: list[str], workdir: str) -> tuple[float, float, float]:
  """Runs train.py with `flags`; its peak RSS in MiB, its wall time's mean input wait after
  the first log, and its steps per second there."""
  process = subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"), "--workdir",
                              workdir, *flags], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=open(workdir + ".log", "w"))
  _, status, usage = os.wait4(process.pid, 0)
  if status:
    raise RuntimeError(f"train.py failed; see {workdir}.log")
  rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  logged = [row for row in rows if "input_wait" in row][1:]  # The first holds compilation.
  return (usage.ru_maxrss / 1024, float(np.mean([row["input_wait"] for row in logged])),
          float(np.mean([row["steps_per_s"] for row in logged])))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
  parser.add_argument("--image-size", type=int, default=32)
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--out", default="runs/streaming")
  parser.add_argument("--jobs", type=int, default=2)
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  common = [f"--config.num_train_steps={args.steps}", "--config.log_every_steps=50",
            "--config.eval_every_steps=0", f"--config.sample_every_steps={args.steps}",
            f"--config.checkpoint_every_steps={args.steps}"]
  print("| data | files | peak RSS preparing + training (MiB) | peak RSS training (MiB) "
        "| prepared file (MiB) | input wait | steps/s |")
  print("|---|---|---|---|---|---|---|")
  for count in args.sizes:
    folder = os.path.join(args.out, f"images_{count}")
    make_folder(folder, count, args.image_size, args.jobs)
    data_dir = os.path.join(args.out, f"prepared_{count}")
    flags = [f"--config.dataset={folder}", f"--config.image_size={args.image_size}",
             f"--config.data_dir={data_dir}", *common]
    for name in ("first", "second"):
      subprocess.run(["rm", "-rf", os.path.join(args.out, f"run_{count}_{name}")], check=True)
    first_rss, _, _ = train(flags, os.path.join(args.out, f"run_{count}_first"))
    rss, wait, speed = train(flags, os.path.join(args.out, f"run_{count}_second"))
    prepared = os.path.join(data_dir, "jaxgan_prepared")
    (name,) = os.listdir(prepared)
    size = os.path.getsize(os.path.join(prepared, name, "images.array_record")) / 2**20
    print(f"| folder, {args.image_size}px | {count:,} | {first_rss:.0f} | {rss:.0f} | "
          f"{size:.0f} | {wait:.1%} | {speed:.1f} |", flush=True)
  digits = os.path.join(args.out, "run_default")
  subprocess.run(["rm", "-rf", digits], check=True)
  rss, wait, speed = train(["--config", os.path.join(ROOT, "configs/default.py"), *common],
                           digits)
  print(f"| configs/default.py (digits, 16px) | 1,437 | | {rss:.0f} | | {wait:.1%} | "
        f"{speed:.1f} |")


if __name__ == "__main__":
  main()

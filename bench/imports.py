"""What importing jaxgan's core costs: seconds and modules of `import jaxgan.losses` beside
jax + flax + optax alone, each in a fresh process, the rows measured in turns.

  .venv/bin/python bench/imports.py                       # this checkout
  .venv/bin/python bench/imports.py --roots . /tmp/old    # beside another checkout

Prints the median over `--repeats` runs of each row (time from the interpreter's start of the
imports to their end, and `len(sys.modules)` after them).
"""

import argparse
import os
import statistics
import subprocess
import sys

BASELINE = "import jax, flax, optax"
CODE = ("import sys, time; start = time.perf_counter(); {imports}; "
        "print(time.perf_counter() - start, len(sys.modules))")


def measure(imports: str, root: str) -> tuple[float, int]:
  """Seconds and modules of `imports` in a fresh interpreter that imports from `root`."""
  env = dict(os.environ, PYTHONPATH=os.path.abspath(root), JAX_PLATFORMS="cpu")
  output = subprocess.run([sys.executable, "-c", CODE.format(imports=imports)], cwd=root,
                          env=env, capture_output=True, text=True, check=True).stdout
  seconds, modules = output.split()
  return float(seconds), int(modules)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--roots", nargs="+", default=["."], help="checkouts to compare")
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  rows = [("jax + flax + optax", BASELINE, args.roots[0])]
  rows += [(f"import jaxgan.losses ({root})", "import jaxgan.losses", root)
           for root in args.roots]
  runs: dict[str, list[tuple[float, int]]] = {name: [] for name, _, _ in rows}
  for _ in range(args.repeats):  # In turns, so that a busy moment falls on every row.
    for name, imports, root in rows:
      runs[name].append(measure(imports, root))
  base_seconds = statistics.median(s for s, _ in runs[rows[0][0]])
  print("| import | seconds | modules | seconds beyond jax + flax + optax |\n|---|---|---|---|")
  for name, _, _ in rows:
    seconds = statistics.median(s for s, _ in runs[name])
    modules = int(statistics.median(m for _, m in runs[name]))
    print(f"| {name} | {seconds:.2f} | {modules:,} | {seconds - base_seconds:+.2f} |")


if __name__ == "__main__":
  main()

"""The per-step overhead of the data-parallel paths: pmap and sharded jit against plain jit.

  .venv/bin/python bench/scaling.py   # mlp28 and dcgan32 at batch 64 (~10 min, 2 cores)
  .venv/bin/python bench/scaling.py --models mlp28  # one model

Each row trains the same global batch in its own process (bench/compare.py's worker), on
1, 2, 4 or 8 fake CPU devices (`--xla_force_host_platform_device_count`), and one row on
two processes of 2 fake devices each over jax.distributed (localhost, gloo). Fake CPU
devices share this machine's cores, so the ratio to plain jit in the same setting
measures the cost of splitting the step and of its collectives, not a speed-up. The sharded
path is compiled with jaxgan's XLA:CPU options (jaxgan.layers.compiler_options), which
pmap cannot take. Peak memory is the process's peak resident set (process 0's for two).
One row computes G and D in bfloat16 (`--config.dtype=bfloat16`) on one device.
"""

import argparse
import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import compare  # noqa: E402

DEVICE_COUNTS = (1, 2, 4, 8)
PATHS = {"jit": "jaxgan", "jit, bfloat16": "jaxgan-bfloat16", "pmap": "jaxgan-pmap",
         "sharded": "jaxgan-sharded"}


def _env(devices: int) -> dict[str, str]:
  return os.environ | {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
                       "JAX_PLATFORMS": "cpu"}


def _row(command: list[str], env: dict[str, str]) -> dict:
  result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=900, check=False)
  if result.returncode:
    raise RuntimeError(f"{' '.join(command[2:])} failed:\n{result.stderr[-3000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def _two_processes(command: list[str]) -> dict:
  """Process 0's row of the command run as two processes of 2 devices each."""
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  processes = [subprocess.Popen(
      command + ["--coordinator", f"localhost:{port}", "--num_processes", "2",
                 "--process_id", str(i)],
      cwd=ROOT, env=_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  try:
    outputs = [p.communicate(timeout=900) for p in processes]
  finally:
    for p in processes:
      p.kill()
  for p, (_, stderr) in zip(processes, outputs):
    if p.returncode:
      raise RuntimeError(f"two processes failed:\n{stderr[-3000:]}")
  return json.loads(outputs[0][0].strip().splitlines()[-1])


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--models", nargs="+", default=["mlp28", "dcgan32"],
                      choices=list(compare.TIMING))
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--json", help="write the rows here as a JSON list")
  args = parser.parse_args()

  rows = []
  print("| model | batch | devices | processes | path | steps/s (median) | time per step / jit's "
        "| peak RSS MiB |")
  print("|---|---|---|---|---|---|---|---|")
  for model in args.models:
    steps, repeats = compare.TIMING[model]
    steps *= 2  # Shorter steps on fewer samples per device: time more of them.
    for devices in DEVICE_COUNTS:
      # (path, processes): jit runs on one device whatever the count, the reference.
      settings = [("jit", 1)] + ([("jit, bfloat16", 1)] if devices == 1 else
                                 [("pmap", 1), ("sharded", 1)])
      if devices == 2:
        settings.append(("sharded", 2))  # Two processes of 2 devices: 4 in all.
      jit_rate = None
      for path, processes in settings:
        command = compare.worker_command(PATHS[path], model, args.batch_size, steps, repeats)
        result = _row(command, _env(devices)) if processes == 1 else _two_processes(command)
        rate = sorted(result["rates"])[len(result["rates"]) // 2]
        jit_rate = rate if path == "jit" else jit_rate
        total = devices * processes
        rows.append({"model": model, "batch_size": args.batch_size, "devices": total,
                     "processes": processes, "path": path, "steps_per_s": rate,
                     "time_ratio_to_jit": jit_rate / rate,
                     "peak_rss_mib": result["peak_rss_mib"]})
        print(f"| {model} | {args.batch_size} | {total} | {processes} | {path} | {rate:.2f} | "
              f"{jit_rate / rate:.2f} | {result['peak_rss_mib']:.0f} |", flush=True)
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump(rows, f, indent=1)


if __name__ == "__main__":
  main()

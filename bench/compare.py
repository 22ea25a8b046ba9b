"""jaxgan against PyTorch on the same GANs: training steps/s, compile time, memory, FLOPs.

  .venv/bin/python bench/compare.py                        # full table (~25 min on 2 CPU cores)
  .venv/bin/python bench/compare.py --quick --json out.json  # batch 64, jaxgan, torch eager
  .venv/bin/python bench/compare.py --models cyclegan128 --frameworks jaxgan torch --rounds 3

sngan32 is SNGAN's ResNets at CIFAR-10 size, with a PyTorch twin; msg32 (MSG-GAN) and
progressive32 (progressive growing, fully grown: its last phase) have none: their rows are
jaxgan's alone.

Each (model, framework, batch) runs in its own process, so peak memory and thread
pools are its own. A step is the same math in both frameworks (tests/test_bench_parity.py):
D on real and fake, then G against the updated D, Adam 2e-4 (b1 0.5), non-saturating
loss, latents drawn inside the step. Timing: the first step (compile) apart, `warmup`
steps, then `repeats` timed runs of `steps` steps each; the table shows the median
and the spread (min-max) of steps/s. FLOPs per step come from XLA's cost analysis of
the jaxgan step and are used for both frameworks (same math). With `--rounds R`, jaxgan and
torch eager are measured R times each, taking turns, and their rows pool every round's runs.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

JAX_FRAMEWORKS = ("jaxgan", "jaxgan-simultaneous", "jaxgan-bfloat16", "jaxgan-pmap",
                  "jaxgan-sharded")
# The multi-device frameworks: their parallelism over every device (jaxgan.parallel).
PARALLELISMS = {"jaxgan-pmap": "pmap", "jaxgan-sharded": "sharded"}
TORCH_FRAMEWORKS = ("torch", "torch-channels_last", "torch.compile")
# Steps per timed run and timed runs, by model: keep each measurement to tens of seconds.
TIMING = {"mlp28": (50, 5), "dcgan32": (5, 5), "dcgan64": (2, 3), "sngan32": (2, 3),
          "msg32": (2, 3), "progressive32": (2, 3), "stylegan2": (2, 3), "pix2pix256": (2, 3),
          "cyclegan128": (1, 3)}


def _jax_worker(model: str, framework: str, batch: int, steps: int, repeats: int) -> dict:
  import jax

  from bench import specs
  from jaxgan import init_state, parallel, trainer

  schedule = "simultaneous" if framework == "jaxgan-simultaneous" else "alternating"
  config = specs.config(model, batch_size=batch, schedule=schedule)
  config.dtype = "bfloat16" if framework == "jaxgan-bfloat16" else "float32"
  data_shape = specs.MODELS[model][0]
  gan = trainer.build_gan(config, specs.data_spec(model))
  state = init_state(gan, jax.random.key(0), data_shape)
  real = specs.real_batch(model, batch)
  rng = jax.random.key(2)
  layout = parallel.local_layout(1)
  if framework in PARALLELISMS:  # Every device of every process.
    layout = parallel.global_layout(PARALLELISMS[framework])
  step = layout.compile(gan)
  flops = None
  if layout.num_devices == 1:  # Lowering is cached, so this does not compile twice.
    flops = step.lower(state, real, rng).compile().cost_analysis().get("flops")
    jax.clear_caches()  # ... but the first step below should pay for its compilation.
  state, rng = layout.put((state, rng))
  real = layout.place(jax.device_get(real), 1)

  def run(n: int) -> float:
    nonlocal state
    start = time.perf_counter()
    for _ in range(n):
      state, _ = step(state, real, rng)
    jax.block_until_ready(state)
    return time.perf_counter() - start

  compile_s = run(1)
  run(max(1, steps // 2))  # Warm-up.
  rates = [steps / run(steps) for _ in range(repeats)]
  memory = jax.local_devices()[0].memory_stats() or {}
  return {"rates": rates, "compile_s": compile_s, "flops_per_step": flops,
          "device": str(jax.devices()[0].device_kind), "devices": layout.num_devices,
          "peak_device_bytes": memory.get("peak_bytes_in_use")}


def _torch_worker(model: str, framework: str, batch: int, steps: int, repeats: int) -> dict:
  import numpy as np
  import torch

  from bench import specs, torch_models, torch_translation

  config = specs.config(model, batch_size=batch)
  data_shape = specs.MODELS[model][0]
  torch.manual_seed(0)
  device = "cuda" if torch.cuda.is_available() else "cpu"
  translation = config.task == "translation"
  if translation:  # Inputs: pix2pix's (targets, sources), CycleGAN's both domains.
    g, d = torch_translation.build(config.model, data_shape, config.generator.to_dict(),
                                   config.discriminator.to_dict())
    real = specs.real_batch(model, batch)
    inputs = [torch_translation.to_torch_layout(x)
              for x in (real if isinstance(real, tuple) else (real,))]
  else:  # Real images; the latents are drawn in the step.
    g, d = torch_models.build(config.model, data_shape, config.generator.to_dict(),
                              config.discriminator.to_dict(), config.latent_dim)
    inputs = [torch_models.to_torch_layout(config.model, np.random.default_rng(1).uniform(
        -1, 1, (batch, *data_shape)).astype("f4"))]
  g, d, inputs = g.to(device), d.to(device), [x.to(device) for x in inputs]
  if framework == "torch-channels_last" and config.model != "mlp":
    g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    if inputs[0].ndim == 4:
      inputs = [x.contiguous(memory_format=torch.channels_last) for x in inputs]
  train_step = (torch_translation.TrainStep(config.model, g, d) if translation
                else torch_models.TrainStep(g, d))
  if framework == "torch.compile":
    train_step.generator, train_step.discriminator = torch.compile(g), torch.compile(d)

  def run(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
      if translation:
        train_step(*inputs)
      else:
        train_step(inputs[0], torch.randn(batch, config.latent_dim, device=device))
    if device == "cuda":
      torch.cuda.synchronize()
    return time.perf_counter() - start

  compile_s = run(1)
  run(max(1, steps // 2))
  rates = [steps / run(steps) for _ in range(repeats)]
  return {"rates": rates, "compile_s": compile_s, "flops_per_step": None,
          "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "devices": 1,
          "peak_device_bytes": torch.cuda.max_memory_allocated() if device == "cuda" else None}


def _peak_flops() -> float:
  """Measured float32 matmul rate (2048x2048), the practical peak of this machine."""
  import jax
  a = jax.random.normal(jax.random.key(0), (2048, 2048))
  matmul = jax.jit(lambda x: x @ x)
  matmul(a).block_until_ready()
  start = time.perf_counter()
  for _ in range(10):
    out = matmul(a)
  out.block_until_ready()
  return 10 * 2 * 2048 ** 3 / (time.perf_counter() - start)


def worker(args) -> None:
  if args.coordinator:  # One of several processes (bench/scaling.py).
    import jax
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
  if args.framework == "peak":
    print(json.dumps({"peak_flops": _peak_flops()}))
    return
  run = _torch_worker if args.framework in TORCH_FRAMEWORKS else _jax_worker
  row = run(args.model, args.framework, args.batch_size, args.steps, args.repeats)
  row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(json.dumps(row))


def worker_command(framework: str, model: str = "", batch: int = 0, steps: int = 0,
                   repeats: int = 0) -> list[str]:
  """The command that measures one (framework, model, batch) in its own process."""
  return [sys.executable, os.path.abspath(__file__), "--worker", "--framework", framework,
          "--model", model, "--batch_size", str(batch), "--steps", str(steps),
          "--repeats", str(repeats)]


def _measure(framework: str, model: str = "", batch: int = 0, steps: int = 0,
             repeats: int = 0) -> dict:
  command = worker_command(framework, model, batch, steps, repeats)
  result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
  if result.returncode:
    raise RuntimeError(f"{framework} {model} {batch} failed:\n{result.stderr[-3000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def _machine() -> dict:
  import importlib.metadata as metadata
  cpu = platform.processor()
  if os.path.exists("/proc/cpuinfo"):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), cpu)
  versions = {}
  for package in ("jax", "jaxlib", "flax", "optax", "torch"):
    try:
      versions[package] = metadata.version(package)
    except metadata.PackageNotFoundError:
      versions[package] = None
  return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), **versions}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--quick", action="store_true", help="batch 64; jaxgan and torch eager")
  parser.add_argument("--json", help="write the rows here as a JSON list")
  parser.add_argument("--models", nargs="+", default=list(TIMING), choices=list(TIMING))
  parser.add_argument("--batch_sizes", nargs="+", type=int)
  parser.add_argument("--rounds", type=int, default=1,
                      help="measure jaxgan and torch eager this many times, taking turns, so "
                           "that a machine whose speed drifts weighs on both alike")
  parser.add_argument("--frameworks", nargs="+", choices=JAX_FRAMEWORKS + TORCH_FRAMEWORKS)
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--framework", help=argparse.SUPPRESS)
  parser.add_argument("--model", help=argparse.SUPPRESS)
  parser.add_argument("--batch_size", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--repeats", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--coordinator", help=argparse.SUPPRESS)
  parser.add_argument("--num_processes", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--process_id", type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args)
    return

  default_batch_sizes = [64] if args.quick else [64, 256]
  frameworks = args.frameworks or (["jaxgan", "torch"] if args.quick else [
      "jaxgan", "jaxgan-simultaneous", "jaxgan-pmap", "jaxgan-sharded", "torch",
      "torch-channels_last", "torch.compile"])
  try:
    import torch  # noqa: F401
  except ImportError:
    print("torch is not installed (pip install '.[bench]'): measuring jaxgan only.")
    frameworks = [f for f in frameworks if f not in TORCH_FRAMEWORKS]
  import jax

  from bench import specs
  if jax.local_device_count() == 1:  # Over one device, pmap and sharded are the jit row.
    frameworks = [f for f in frameworks if f not in PARALLELISMS]

  machine = _machine()
  peak = _measure("peak")["peak_flops"]
  print(f"{machine['cpu']}, {machine['cores']} cores; jax {machine['jax']}, torch "
        f"{machine['torch']}; matmul peak {peak / 1e9:.0f} GFLOP/s\n")
  print("| model | batch | framework | steps/s (median) | spread | images/s | first step s "
        "| peak RSS MiB | GFLOP/step | GFLOP/s | % of peak | vs torch |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|")
  rows = []
  for model in args.models:
    steps, repeats = TIMING[model]
    if args.quick:
      repeats = min(repeats, 3)
    batch_sizes = args.batch_sizes or specs.BATCH_SIZES.get(model, default_batch_sizes)
    if args.quick:
      batch_sizes = batch_sizes[:1]
    for batch in batch_sizes:
      measured = [f for f in frameworks
                  if f not in TORCH_FRAMEWORKS or model in specs.TORCH_TWINS]
      # jaxgan and torch eager first: the other rows compare with torch's rate, and
      # PyTorch's rows take jaxgan's FLOPs (the same math).
      references = [f for f in ("jaxgan", "torch") if f in measured]
      rounds = [{f: _try_measure(f, model, batch, steps, repeats) for f in references}
                for _ in range(args.rounds)]
      results = {f: _merged([measured_round[f] for measured_round in rounds])
                 for f in references}
      reference = {"flops": results.get("jaxgan", {}).get("flops_per_step"),
                   "torch_rate": _median_rate(results.get("torch"))}
      for framework in references + [f for f in measured if f not in references]:
        result = results.get(framework) or _try_measure(framework, model, batch, steps, repeats)
        row = _row(model, framework, batch, result, reference, peak, machine)
        rows.append(row)
        if args.json:  # Written as the rows come: a crash keeps what was measured.
          with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


def _try_measure(framework: str, model: str, batch: int, steps: int, repeats: int) -> dict:
  """`_measure`'s result, or `{"error": its last line}` if the worker failed: the table
  records the failure in that row and goes on."""
  try:
    return _measure(framework, model, batch, steps, repeats)
  except RuntimeError as e:
    return {"error": str(e).strip().splitlines()[-1]}


def _merged(results: list[dict]) -> dict:
  """One framework's measurements over several rounds as one: every timed run's rate; the
  first round's other figures; the first failure if any round failed."""
  failed = [result for result in results if "error" in result]
  if failed:
    return failed[0]
  return results[0] | {"rates": [rate for result in results for rate in result["rates"]]}


def _median_rate(result: dict | None) -> float | None:
  return statistics.median(result["rates"]) if result and "rates" in result else None


def _row(model: str, framework: str, batch: int, result: dict, reference: dict, peak: float,
         machine: dict) -> dict:
  """A row of the table, printed: measured, or the failure `result["error"]`. `reference`
  holds jaxgan's FLOPs and torch's rate."""
  if "error" in result:
    print(f"| {model} | {batch} | {framework} | failed: {result['error'][:160]} |", flush=True)
    return {"model": model, "framework": framework, "batch_size": batch,
            "error": result["error"], "machine": machine}
  rate = statistics.median(result["rates"])
  # The PyTorch rows do the math of the (alternating) jaxgan row.
  flops = result["flops_per_step"] or reference["flops"]
  torch_rate = reference["torch_rate"]
  row = {"model": model, "framework": framework, "batch_size": batch,
         "steps_per_s": rate, "images_per_s": rate * batch,
         "steps_per_s_min": min(result["rates"]), "steps_per_s_max": max(result["rates"]),
         "first_step_s": result["compile_s"], "peak_rss_mib": result["peak_rss_mib"],
         "peak_device_bytes": result["peak_device_bytes"], "device": result["device"],
         "devices": result["devices"], "flops_per_step": flops,
         "achieved_flops": flops * rate if flops else None,
         "fraction_of_peak": flops * rate / peak if flops else None,
         "vs_torch": rate / torch_rate if torch_rate else None, "machine": machine}
  _print_row(row)
  return row


def _print_row(row: dict) -> None:
  flops = row["flops_per_step"]
  print(f"| {row['model']} | {row['batch_size']} | {row['framework']} | "
        f"{row['steps_per_s']:.2f} | {row['steps_per_s_min']:.2f}-{row['steps_per_s_max']:.2f} | "
        f"{row['images_per_s']:.0f} | {row['first_step_s']:.1f} | "
        f"{row['peak_rss_mib']:.0f} | {(flops or 0) / 1e9:.2f} | "
        f"{(row['achieved_flops'] or 0) / 1e9:.1f} | "
        f"{100 * (row['fraction_of_peak'] or 0):.0f}% | "
        f"{'%.2fx' % row['vs_torch'] if row['vs_torch'] else '-'} |", flush=True)


if __name__ == "__main__":
  main()

"""Per-layer times of the DCGAN convolutions: jaxgan's layers against PyTorch's.

  .venv/bin/python bench/conv_layers.py [--model dcgan64] [--batch_size 64]

For each stride-2 layer of a bench/specs.py DCGAN (G's transposed convolutions, D's
strided ones), prints the median milliseconds of the forward pass, the input
gradient and the kernel gradient in jaxgan (each jitted alone, with the compiler
options of jaxgan's train step), and of the forward pass and the whole backward
pass in PyTorch eager, side by side in one process.
"""

import argparse
import functools
import os
import statistics
import sys
import time
from typing import Callable

import jax
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import specs  # noqa: E402
from jaxgan import layers  # noqa: E402


def _layers(model: str) -> list[tuple[bool, int, int, int]]:
  """`(transposed, input size, in features, out features)` of each stride-2, 4x4,
  padding-1 layer of `model`: G's from its base map up, then D's from the image down."""
  (size, _, channels), overrides = specs.MODELS[model]
  g_widths = (*overrides["generator"]["features"], channels)
  d_widths = (channels, *overrides["discriminator"]["features"])
  base = size // 2 ** (len(g_widths) - 1)
  return ([(True, base * 2**i, g_widths[i], g_widths[i + 1]) for i in range(len(g_widths) - 1)]
          + [(False, size // 2**i, d_widths[i], d_widths[i + 1])
             for i in range(len(d_widths) - 1)])


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
  fn()  # Warm-up (and compilation).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1000 * statistics.median(times)


def _jax_times(transposed: bool, x: np.ndarray, kernel: np.ndarray, cotangent: np.ndarray,
               repeats: int) -> tuple[float, float, float]:
  layer = layers.conv_transpose if transposed else layers.conv
  apply = lambda x, k: layer(x, k, 2, 1)  # noqa: E731
  jit = functools.partial(jax.jit, compiler_options=layers.compiler_options())
  forward = jit(apply)
  input_grad = jit(lambda x, k, g: jax.vjp(lambda x: apply(x, k), x)[1](g)[0])
  kernel_grad = jit(lambda x, k, g: jax.vjp(lambda k: apply(x, k), k)[1](g)[0])
  return tuple(_median_ms(lambda f=f: jax.block_until_ready(f(*args)), repeats)
               for f, args in ((forward, (x, kernel)), (input_grad, (x, kernel, cotangent)),
                               (kernel_grad, (x, kernel, cotangent))))


def _torch_times(transposed: bool, x: np.ndarray, cotangent: np.ndarray, in_features: int,
                 out_features: int, repeats: int) -> tuple[float, float]:
  module = (torch.nn.ConvTranspose2d if transposed else torch.nn.Conv2d)(
      in_features, out_features, 4, 2, 1, bias=False)
  inputs = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
  grad = torch.from_numpy(cotangent.transpose(0, 3, 1, 2).copy())
  with torch.no_grad():
    forward = _median_ms(lambda: module(inputs), repeats)

  def forward_backward():
    module(inputs).backward(grad)

  return forward, _median_ms(forward_backward, repeats) - forward


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", choices=[m for m in specs.MODELS if m.startswith("dcgan")],
                      default="dcgan64")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count())
  rng = np.random.default_rng(0)
  print(f"{args.model} layers, batch {args.batch_size}, median ms of {args.repeats} runs\n")
  print("| layer | size | features | jaxgan forward | input grad | kernel grad | jaxgan total | "
        "torch forward | torch backward | torch total | time jaxgan / torch |")
  print("|---|---|---|---|---|---|---|---|---|---|---|")
  for transposed, size, in_features, out_features in _layers(args.model):
    out_size = 2 * size if transposed else size // 2
    x = rng.standard_normal((args.batch_size, size, size, in_features), np.float32)
    kernel_shape = (4, 4, out_features, in_features) if transposed else (
        4, 4, in_features, out_features)
    kernel = 0.02 * rng.standard_normal(kernel_shape, np.float32)
    cotangent = rng.standard_normal((args.batch_size, out_size, out_size, out_features),
                                    np.float32)
    ours = _jax_times(transposed, x, kernel, cotangent, args.repeats)
    theirs = _torch_times(transposed, x, cotangent, in_features, out_features, args.repeats)
    print(f"| {'G transposed' if transposed else 'D strided'} | {size}->{out_size} | "
          f"{in_features}->{out_features} | " + " | ".join(f"{t:.1f}" for t in ours)
          + f" | {sum(ours):.1f} | {theirs[0]:.1f} | {theirs[1]:.1f} | {sum(theirs):.1f} | "
          f"{sum(ours) / sum(theirs):.2f}x |")


if __name__ == "__main__":
  main()

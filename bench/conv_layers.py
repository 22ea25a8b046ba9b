"""Per-layer times of a model's convolutions: jaxgan's layers against PyTorch's.

  .venv/bin/python bench/conv_layers.py [--model dcgan64] [--batch_size 64]

For each distinct convolution with PyTorch's geometry (`jaxgan.layers.Conv` and
`ConvTranspose`) in G and D of a bench/specs.py model, as their initialisation calls them,
prints how many times one forward pass of G and D runs it, and the median milliseconds of
its forward pass, input gradient and kernel gradient in jaxgan (each jitted alone, with the
compiler options of jaxgan's train step), and of the forward pass and the whole backward
pass in PyTorch eager, side by side in one process.
"""

import argparse
import collections
import functools
import os
import statistics
import sys
import time
from typing import Callable, NamedTuple

import flax.linen as nn
import jax
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import specs  # noqa: E402
from jaxgan import init_state, layers, trainer  # noqa: E402


class Layer(NamedTuple):
  """One convolution with PyTorch's geometry, on inputs `[batch, size, size, in_features]`."""
  transposed: bool
  size: int
  in_features: int
  out_features: int
  kernel_size: int
  stride: int
  padding: int
  output_padding: int


def _layers(model: str) -> collections.Counter:
  """How many times one initialisation of `model`'s G and D calls each `Layer`, in call
  order."""
  calls = collections.Counter()

  def record(next_fun, args, kwargs, context):
    module = context.module
    if isinstance(module, layers._TorchGeometryConv) and context.method_name == "__call__":
      inputs = args[0]
      calls[Layer(module.transposed, inputs.shape[1], inputs.shape[-1], module.features,
                  module.kernel_size, module.stride, module.padding,
                  module.output_padding)] += 1
    return next_fun(*args, **kwargs)

  gan = trainer.build_gan(specs.config(model, batch_size=1), specs.data_spec(model))
  with nn.intercept_methods(record):
    jax.eval_shape(lambda key: init_state(gan, key, specs.MODELS[model][0]), jax.random.key(0))
  return calls


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
  fn()  # Warm-up (and compilation).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1000 * statistics.median(times)


def _apply(layer: Layer, x: jax.Array, kernel: jax.Array) -> jax.Array:
  if layer.transposed:
    return layers.conv_transpose(x, kernel, layer.stride, layer.padding, layer.output_padding)
  return layers.conv(x, kernel, layer.stride, layer.padding)


def _jax_times(layer: Layer, x: np.ndarray, kernel: np.ndarray, cotangent: np.ndarray,
               repeats: int) -> tuple[float, float, float]:
  apply = functools.partial(_apply, layer)
  jit = functools.partial(jax.jit, compiler_options=layers.compiler_options())
  forward = jit(apply)
  input_grad = jit(lambda x, k, g: jax.vjp(lambda x: apply(x, k), x)[1](g)[0])
  kernel_grad = jit(lambda x, k, g: jax.vjp(lambda k: apply(x, k), k)[1](g)[0])
  return tuple(_median_ms(lambda f=f: jax.block_until_ready(f(*args)), repeats)
               for f, args in ((forward, (x, kernel)), (input_grad, (x, kernel, cotangent)),
                               (kernel_grad, (x, kernel, cotangent))))


def _torch_times(layer: Layer, x: np.ndarray, cotangent: np.ndarray,
                 repeats: int) -> tuple[float, float]:
  geometry = dict(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding,
                  bias=False)
  if layer.transposed:
    module = torch.nn.ConvTranspose2d(layer.in_features, layer.out_features,
                                      output_padding=layer.output_padding, **geometry)
  else:
    module = torch.nn.Conv2d(layer.in_features, layer.out_features, **geometry)
  inputs = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
  grad = torch.from_numpy(cotangent.transpose(0, 3, 1, 2).copy())
  with torch.no_grad():
    forward = _median_ms(lambda: module(inputs), repeats)

  def forward_backward():
    module(inputs).backward(grad)

  return forward, _median_ms(forward_backward, repeats) - forward


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", choices=list(specs.MODELS), default="dcgan64")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count())
  rng = np.random.default_rng(0)
  print(f"{args.model} layers, batch {args.batch_size}, median ms of {args.repeats} runs\n")
  print("| layer | size | features | kernel, stride, padding | calls | jaxgan forward | "
        "input grad | kernel grad | jaxgan total | torch forward | torch backward | "
        "torch total | time jaxgan / torch |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  totals = np.zeros(2)
  for layer, count in _layers(args.model).items():
    x = rng.standard_normal((args.batch_size, layer.size, layer.size, layer.in_features),
                            np.float32)
    kernel = 0.02 * rng.standard_normal(
        (layer.kernel_size, layer.kernel_size,
         *((layer.out_features, layer.in_features) if layer.transposed
           else (layer.in_features, layer.out_features))), np.float32)
    out_size = jax.eval_shape(lambda x, k: _apply(layer, x, k), x, kernel).shape[1]
    cotangent = rng.standard_normal((args.batch_size, out_size, out_size, layer.out_features),
                                    np.float32)
    ours = _jax_times(layer, x, kernel, cotangent, args.repeats)
    theirs = _torch_times(layer, x, cotangent, args.repeats)
    totals += count * np.array([sum(ours), sum(theirs)])
    geometry = f"{layer.kernel_size}, {layer.stride}, {layer.padding}" + (
        f" (+{layer.output_padding})" if layer.output_padding else "")
    print(f"| {'transposed' if layer.transposed else 'conv'} | {layer.size}->{out_size} | "
          f"{layer.in_features}->{layer.out_features} | {geometry} | {count} | "
          + " | ".join(f"{t:.1f}" for t in ours)
          + f" | {sum(ours):.1f} | {theirs[0]:.1f} | {theirs[1]:.1f} | {sum(theirs):.1f} | "
          f"{sum(ours) / sum(theirs):.2f}x |", flush=True)
  print(f"\nAll layers, each times its calls: jaxgan {totals[0]:.0f} ms, torch {totals[1]:.0f} ms, "
        f"{totals[0] / totals[1]:.2f}x")


if __name__ == "__main__":
  main()

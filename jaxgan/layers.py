"""Convolutions with PyTorch's geometry whose gradients XLA:CPU runs fast.

`lax.conv_transpose`, and autodiff of a strided convolution with respect to its
input, are lhs-dilated convolutions: on XLA:CPU they multiply the inserted zeros
and run 2-4x slower than the same work as an ordinary convolution, and their
kernel gradient is 8-15x slower. The functions here compute the same values
(tested against autodiff) by other routes:

- a stride-2, 4x4 transposed convolution is four 2x2 convolutions, one per output
  pixel parity, interleaved, or, when it makes image channels, one matmul followed
  by shifted sums;
- the kernel gradient of a transposed convolution is that of the strided
  convolution it is the adjoint of;
- the kernel gradient of a stride-2, 4x4 convolution of image channels is four
  matmuls over 2x2 pixel blocks of its input ("space to depth");
- a stride-1 convolution to image channels (SNGAN's last 3x3 layer, CycleGAN's last 7x7,
  PatchGAN's last 4x4), and the input gradient of one from them (their first layers), is one
  matmul to every tap's output, then shifted sums; the kernel gradient of either is one
  matmul of the neighbourhoods of its image-channel side;
- the kernel gradient of a stride-1 convolution of a large input is XLA's own convolution,
  given its input batch-minor by a matmul with the identity instead of XLA's transposing copy.

On GPU and TPU, where the native kernels are fast, the plain lax forms are used. The
convolutions are `jax.custom_jvp` functions whose tangents are written as transposes of
these routes: reverse mode takes the routes, and forward mode (`jax.jvp`, `jax.hessian`,
`jax.linearize`) works through them too.
"""

import functools
import math
from typing import Callable, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")
# For output pixel parity 0 and 1 along an axis, the taps of a stride-2, 4-tap,
# padding-1 kernel that reach it: out[2m] = x[m-1] w[3] + x[m] w[1],
# out[2m+1] = x[m] w[2] + x[m+1] w[0].
_PARITY_TAPS = ((3, 1), (2, 0))
# Per kernel size of a stride-2, padding-1 transposed convolution doubling the size, for
# output pixel parity 0 and 1: the taps that reach it, in the order of the input pixels they
# read, and the padding before and after that reading needs. 4 taps as above; 3 taps:
# out[2m] = x[m] w[1], out[2m+1] = x[m] w[2] + x[m+1] w[0].
_PHASES = {4: (_PARITY_TAPS, ((1, 0), (0, 1))), 3: (((1,), (2, 0)), ((0, 0), (0, 1)))}
# Feature counts up to this (RGB(A), grey) take the matmul routes on CPU.
_IMAGE_CHANNELS = 4
# Inputs of a stride-1 convolution from this many elements (32 MiB of float32, the size of
# this machine's last-level cache, and of sngan32's 32x32 activations) take
# `_batch_minor_kernel_grad` on CPU: per layer up to 1.6x faster from there (noisy, level in
# some runs), level or 5% slower below; whole sngan32 steps +1-2% (docs/speed.md).
_LARGE_INPUTS = 2**23


def _strided_conv(inputs: Array, kernel: Array, stride: int, padding: int) -> Array:
  """PyTorch's Conv2d(stride, padding): `[n, h, w, i]`, kernel `[k, k, i, o]` (HWIO)."""
  return lax.conv_general_dilated(
      inputs, kernel, (stride, stride), ((padding, padding), (padding, padding)),
      dimension_numbers=_DIMENSIONS)


def _cpu_stride_2_4x4(stride: int, padding: int, kernel: Array) -> bool:
  """Whether the CPU routes below apply: XLA:CPU, stride 2, 4x4 kernels, padding 1."""
  return ((stride, padding, *kernel.shape[:2]) == (2, 1, 4, 4)
          and jax.default_backend() == "cpu")


def _cpu_stride_1_images(stride: int, padding: int, kernel: Array) -> bool:
  """Whether the CPU matmul routes of a stride-1 convolution apply: from or to image channels,
  padding at most `k - 1` (so its input gradient is a convolution too), on XLA:CPU."""
  return (stride == 1 and padding < kernel.shape[0]
          and min(kernel.shape[2:]) <= _IMAGE_CHANNELS and jax.default_backend() == "cpu")


def _neighbourhoods(x: Array, size: int, padding: int, stride: int = 1) -> Array:
  """The `size x size` neighbourhood of every output pixel of a convolution with `padding`
  zeros and `stride`: `[n, h, w, c]` -> `[n, (h + 2 padding - size) // stride + 1, (same for
  w), size, size, c]`, entry `(i, j)` the pixel `(stride y + i - padding, stride x + j -
  padding)`."""
  _, h, w, _ = x.shape
  rows = (h + 2 * padding - size) // stride + 1
  cols = (w + 2 * padding - size) // stride + 1
  padded = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  return jnp.stack([jnp.stack([padded[:, i:i + stride * (rows - 1) + 1:stride,
                                      j:j + stride * (cols - 1) + 1:stride]
                               for j in range(size)], axis=3)
                    for i in range(size)], axis=3)


def _flipped(kernel: Array) -> Array:
  """The kernel `[k, k, in, out]` of a stride-1 convolution's input gradient: flipped,
  `[k, k, out, in]`."""
  return kernel[::-1, ::-1].transpose(0, 1, 3, 2)


def _conv_stride_1(x: Array, kernel: Array, padding: int) -> Array:
  """`_strided_conv(x, kernel, 1, padding)` for a kernel `[k, k, in, out]`: to image channels
  on XLA:CPU as one matmul to every tap's output and shifted sums (measured at batch 64,
  32x32, 3x3: 3x faster than XLA's convolution from 128 features to 3, 6x from 256; XLA's own
  is the faster one from image channels)."""
  n, h, w, in_features = x.shape
  size, out_features = kernel.shape[0], kernel.shape[-1]
  if not out_features <= _IMAGE_CHANNELS < in_features or jax.default_backend() != "cpu":
    return _strided_conv(x, kernel, 1, padding)
  rows, cols = h + 2 * padding - size + 1, w + 2 * padding - size + 1
  # out[p] = sum over taps (i, j) of taps[p + (i - padding, j - padding), i, j].
  taps = x @ kernel.transpose(2, 0, 1, 3).reshape(in_features, -1)
  taps = jnp.pad(taps.reshape(n, h, w, size, size, out_features),
                 ((0, 0), (padding, padding), (padding, padding), (0, 0), (0, 0), (0, 0)))
  return sum(taps[:, i:i + rows, j:j + cols, i, j] for i in range(size) for j in range(size))


def _neighbourhood_kernel_grad(inputs: Array, output_grad: Array, size: int, padding: int,
                               stride: int = 1) -> Array:
  """`_kernel_grad` of a `size x size` convolution as one matmul of its input's
  neighbourhoods and the output gradient."""
  in_features, out_features = inputs.shape[-1], output_grad.shape[-1]
  neighbourhoods = _neighbourhoods(inputs, size, padding, stride)
  return (neighbourhoods.reshape(-1, size**2 * in_features).T
          @ output_grad.reshape(-1, out_features)).reshape(size, size, in_features, out_features)


def _kernel_grad_images(inputs: Array, output_grad: Array, size: int, padding: int) -> Array:
  """`_kernel_grad` of a stride-1, `size x size` convolution from or to image channels, one
  matmul of one side's neighbourhoods (measured as above: 3-5x faster than XLA's)."""
  in_features, out_features = inputs.shape[-1], output_grad.shape[-1]
  if in_features <= out_features:
    return _neighbourhood_kernel_grad(inputs, output_grad, size, padding)
  # d/dk[i, j] = sum_q x[q] g[q - (i - padding, j - padding)]: the output gradient's
  # neighbourhood, flipped.
  grads = inputs.reshape(-1, in_features).T @ _neighbourhoods(
      output_grad, size, size - 1 - padding).reshape(-1, size**2 * out_features)
  return grads.reshape(in_features, size, size, out_features)[:, ::-1, ::-1].transpose(1, 2, 0, 3)


def _kernel_grad(inputs: Array, output_grad: Array, kernel: Array, stride: int,
                 padding: int) -> Array:
  """The gradient of `<output_grad, _strided_conv(inputs, kernel)>` in `kernel`."""
  # Measured on XLA:CPU: the neighbourhood matmul is 3-5x faster for 3x3 kernels either
  # way and for 7x7 to image channels, but 2-6x slower for 7x7 from them (CycleGAN's first).
  if _cpu_stride_1_images(stride, padding, kernel) and (
      kernel.shape[0] <= 3 or inputs.shape[-1] > output_grad.shape[-1]):
    return _kernel_grad_images(inputs, output_grad, kernel.shape[0], padding)
  # Measured on XLA:CPU, alternating the two in one process: for a stride-2, 3x3 convolution
  # (CycleGAN's down- and upsampling) the neighbourhood matmul is 1.8-3.7x faster than XLA's
  # kernel gradient up to 8,192 output pixels in the batch, and slower beyond.
  if ((stride, *kernel.shape[:2]) == (2, 3, 3) and math.prod(output_grad.shape[:3]) <= 8192
      and jax.default_backend() == "cpu"):
    return _neighbourhood_kernel_grad(inputs, output_grad, 3, padding, stride)
  _, h, w, in_features = inputs.shape
  # Measured per layer of the benchmark DCGANs on XLA:CPU: the matmuls are 1.2-1.4x
  # faster than XLA's convolution for image channels in, 1.4-2.3x slower for wider inputs.
  if (_cpu_stride_2_4x4(stride, padding, kernel) and in_features <= _IMAGE_CHANNELS
      and output_grad.shape[1:3] == (h // 2, w // 2) and h % 2 == w % 2 == 0):
    return _space_to_depth_kernel_grad(inputs, output_grad)
  if stride == 1 and inputs.size >= _LARGE_INPUTS and jax.default_backend() == "cpu":
    return _batch_minor_kernel_grad(inputs, output_grad, padding)
  _, pullback = jax.vjp(lambda k: _strided_conv(inputs, k, stride, padding), kernel)
  return pullback(output_grad)[0]


def _batch_minor_kernel_grad(inputs: Array, output_grad: Array, padding: int) -> Array:
  """`_kernel_grad` of a stride-1 convolution as XLA's own convolution of the batch-minor
  input, made by a matmul with the identity.

  XLA:CPU computes a kernel gradient as a convolution over `[in, h, w, n]`, and moves the
  batch to the last axis with a copy that reads across it element by element, with the
  elementwise ops that made the input (batch norm, ReLU) fused in and recomputed in that
  order: measured at sngan32's 32x32 layers, 3x slower than a plain copy. A matmul with the
  identity over the batch writes `[h, w, in, n]` from contiguous rows; the convolution then
  only moves whole `n`-rows. The values were the same, bit for bit, in every layer measured.
  """
  batch_minor = jnp.einsum("nhwi,nm->hwim", inputs, jnp.eye(inputs.shape[0], dtype=inputs.dtype))
  grads = lax.conv_general_dilated(batch_minor, output_grad, (1, 1), ((padding, padding),) * 2,
                                   dimension_numbers=("HWNC", "IHWO", "NHWC"))
  return grads.transpose(1, 2, 0, 3)  # [in, k, k, out] -> [k, k, in, out]


def _space_to_depth_kernel_grad(inputs: Array, output_grad: Array) -> Array:
  """`_kernel_grad` for stride 2, 4x4 kernels, padding 1, as four matmuls.

  Split the padded input into 2x2 pixel blocks: kernel tap `(2a + r, 2b + s)` meets
  pixel `(r, s)` of block `(y + a, x + b)` at output `(y, x)`. So the taps of block
  offset `(a, b)` are one matmul, blocks shifted by `(a, b)` `[n*h*w, 4*in]` against
  the output gradient `[n*h*w, out]`.
  """
  n, h, w, in_features = inputs.shape
  rows, cols = h // 2, w // 2
  blocks = jnp.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)))
  blocks = blocks.reshape(n, rows + 1, 2, cols + 1, 2, in_features).transpose(0, 1, 3, 2, 4, 5)
  output_grad = output_grad.reshape(n * rows * cols, -1)
  grads = [blocks[:, a:a + rows, b:b + cols].reshape(n * rows * cols, -1).T @ output_grad
           for a in (0, 1) for b in (0, 1)]
  # [a, b, r, s, in, out] -> [2a + r, 2b + s, in, out]
  grads = jnp.stack(grads).reshape(2, 2, 2, 2, in_features, -1).transpose(0, 2, 1, 3, 4, 5)
  return grads.reshape(4, 4, in_features, -1)


def _dilated_conv_transpose(inputs: Array, kernel: Array, stride: int, padding: int,
                            out_hw: tuple[int, int]) -> Array:
  """The adjoint of `_strided_conv` in `kernel`, as XLA's lhs-dilated convolution."""
  out_shape = (inputs.shape[0], *out_hw, kernel.shape[2])
  adjoint = jax.linear_transpose(lambda u: _strided_conv(u, kernel, stride, padding),
                                 jax.ShapeDtypeStruct(out_shape, inputs.dtype))
  return adjoint(inputs)[0]


def _phase_kernel(kernel: Array, a: int, b: int) -> Array:
  """The HWIO kernel `[taps, taps, in, out]` of a stride-2, padding-1 transposed convolution
  (kernel `[k, k, out, in]`, k in `_PHASES`) that makes output pixels of row parity `a`,
  column parity `b`."""
  taps = _PHASES[kernel.shape[0]][0]
  rows, cols = jnp.array(taps[a]), jnp.array(taps[b])
  return kernel[rows][:, cols].transpose(0, 1, 3, 2)


def _interleave(phases: list[list[Array]]) -> Array:
  """`[n, 2h, 2w, c]` from `phases[a][b]` `[n, h, w, c]`, the pixels of row parity `a`,
  column parity `b`."""
  rows = [jnp.stack(row, axis=3) for row in phases]  # [n, h, w, 2, c] each
  n, h, w, _, c = rows[0].shape
  return jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, c)


def _phase_conv_transpose(inputs: Array, kernel: Array) -> Array:
  """`_dilated_conv_transpose` for stride 2, padding 1, 4x4 or 3x3 kernels, doubling the size,
  without the zeros: four small convolutions, one per output pixel parity, each padded on the
  side it reads (4x4: 2x2 each; 3x3: 1x1, 1x2, 2x1 and 2x2)."""
  pads = _PHASES[kernel.shape[0]][1]
  return _interleave([[lax.conv_general_dilated(inputs, _phase_kernel(kernel, a, b), (1, 1),
                                                (pads[a], pads[b]), dimension_numbers=_DIMENSIONS)
                       for b in (0, 1)] for a in (0, 1)])


def _matmul_conv_transpose(inputs: Array, kernel: Array) -> Array:
  """`_phase_conv_transpose` as one matmul and shifted sums, for few output features.

  Every input pixel's contribution to its 4x4 output window is one matmul
  `[n*h*w, in] @ [in, 16*out]`; output pixel `2m + r` then sums taps
  `_PARITY_TAPS[r]` of input pixels `m - 1 + r` and `m + r`.
  """
  n, h, w, in_features = inputs.shape
  out_features = kernel.shape[2]
  taps = inputs.reshape(-1, in_features) @ kernel.transpose(3, 0, 1, 2).reshape(in_features, -1)
  taps = jnp.pad(taps.reshape(n, h, w, 4, 4, out_features),
                 ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0)))

  def phase(a: int, b: int) -> Array:
    return sum(taps[:, a + i:a + i + h, b + j:b + j + w, row_tap, col_tap]
               for i, row_tap in enumerate(_PARITY_TAPS[a])
               for j, col_tap in enumerate(_PARITY_TAPS[b]))

  return _interleave([[phase(a, b) for b in (0, 1)] for a in (0, 1)])


def _transposed(inputs: Array, kernel: Array, stride: int, padding: int,
                out_hw: tuple[int, int]) -> Array:
  """The adjoint of `_strided_conv`, computed the fastest way this backend has."""
  _, h, w, _ = inputs.shape
  if _cpu_stride_1_images(stride, padding, kernel):
    return _conv_stride_1(inputs, _flipped(kernel), kernel.shape[0] - 1 - padding)
  if _cpu_stride_2_4x4(stride, padding, kernel) and out_hw == (2 * h, 2 * w):
    # Measured per layer of the benchmark DCGANs on XLA:CPU, against the lhs-dilated
    # convolution: the matmul 2-3x faster for image channels out, the phase
    # convolutions 1.1-2.6x faster otherwise.
    if kernel.shape[2] <= _IMAGE_CHANNELS:
      return _matmul_conv_transpose(inputs, kernel)
    return _phase_conv_transpose(inputs, kernel)
  if ((stride, padding, *kernel.shape[:2]) == (2, 1, 3, 3) and out_hw == (2 * h, 2 * w)
      and jax.default_backend() == "cpu"):
    # CycleGAN's upsampling, and its downsampling's input gradient. Measured at its layers
    # on XLA:CPU against the lhs-dilated convolution: 1.2-1.9x faster at batch 4 and at
    # 64->128 px at batch 1, 0.9x at 32->64 px at batch 1.
    return _phase_conv_transpose(inputs, kernel)
  return _dilated_conv_transpose(inputs, kernel, stride, padding, out_hw)


def compiler_options() -> dict[str, str] | None:
  """`jax.jit(..., compiler_options=...)` for functions built from these layers.

  XLA:CPU hands convolutions and elementwise fusions to YNNPACK by default. On the
  benchmark DCGANs its own convolutions are 15-30% faster per layer, while YNNPACK's
  matmuls and reductions remain the faster ones; keeping only those in YNNPACK made
  whole training steps 9-19% faster (MLP GAN unchanged; bench/compare.py).
  """
  if jax.default_backend() != "cpu":
    return None
  return {"xla_cpu_experimental_ynn_fusion_type":
          "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"}


def _linear_map(fn: Callable[[Array], Array], like: Array) -> Callable[[Array], Array]:
  """The transpose of the linear `fn`, whose input is shaped like `like`. Autodiff of what it
  computes transposes it back: a tangent written as `_linear_map(fast)` has `fast` as its
  reverse-mode pullback, whichever route `fast` takes."""
  transposed = jax.linear_transpose(fn, jax.ShapeDtypeStruct(like.shape, like.dtype))
  return lambda x: transposed(x)[0]


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def conv_transpose(inputs: Array, kernel: Array, stride: int, padding: int,
                   output_padding: int = 0) -> Array:
  """Transposed convolution with PyTorch's `ConvTranspose2d` geometry.

  Args:
    inputs: `[n, h, w, in_features]`.
    kernel: `[k, k, out_features, in_features]`: the kernel of the strided
      convolution this layer is the adjoint of (PyTorch's weight layout
      `[in, out, k, k]` transposed to `(2, 3, 1, 0)`).
    stride: spatial stride `s`.
    padding: PyTorch's implicit padding `p`.
    output_padding: PyTorch's `output_padding` `q`, added to the bottom and right (a 3x3,
      stride-2 layer with `p = q = 1` doubles the size, as CycleGAN's generator's do).

  Returns:
    `[n, (h - 1) s - 2p + k + q, (w - 1) s - 2p + k + q, out_features]`.
  """
  _, h, w, _ = inputs.shape
  k = kernel.shape[0]
  out_hw = ((h - 1) * stride - 2 * padding + k + output_padding,
            (w - 1) * stride - 2 * padding + k + output_padding)
  return _transposed(inputs, kernel, stride, padding, out_hw)


@conv_transpose.defjvp
def _conv_transpose_jvp(stride, padding, output_padding, primals, tangents):
  # The layer is bilinear: <g, conv_transpose(x, k)> = <conv(g, k), x>, so both tangent
  # terms are transposes of the ordinary strided convolution's maps, and reverse mode
  # computes them as that convolution applied to g (forward-mode autodiff works too).
  inputs, kernel = primals
  inputs_dot, kernel_dot = tangents
  outputs = conv_transpose(inputs, kernel, stride, padding, output_padding)
  by_inputs = _linear_map(lambda g: _strided_conv(g, kernel, stride, padding), outputs)
  by_kernel = _linear_map(lambda g: _kernel_grad(g, inputs, kernel, stride, padding), outputs)
  return outputs, by_inputs(inputs_dot) + by_kernel(kernel_dot)


def conv(inputs: Array, kernel: Array, stride: int, padding: int) -> Array:
  """PyTorch's `Conv2d` geometry: `[n, h, w, in]`, kernel `[k, k, in, out]` (HWIO). Its
  input gradient is `conv_transpose` (its fast forms where they apply)."""
  if (kernel.shape[:2], stride, padding) == ((1, 1), 1, 0):
    # A matmul over features, whose kernel gradient is one matmul over pixels: 2-3x faster
    # than XLA:CPU's convolution kernel gradient (measured at sngan32's shortcuts).
    return inputs @ kernel[0, 0]
  return _conv(inputs, kernel, stride, padding)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _conv(inputs: Array, kernel: Array, stride: int, padding: int) -> Array:
  if _cpu_stride_1_images(stride, padding, kernel):
    return _conv_stride_1(inputs, kernel, padding)
  return _strided_conv(inputs, kernel, stride, padding)


@_conv.defjvp
def _conv_jvp(stride, padding, primals, tangents):
  inputs, kernel = primals
  inputs_dot, kernel_dot = tangents
  outputs = _conv(inputs, kernel, stride, padding)
  by_inputs = _linear_map(
      lambda g: _transposed(g, kernel, stride, padding, inputs.shape[1:3]), outputs)
  by_kernel = _linear_map(lambda g: _kernel_grad(inputs, g, kernel, stride, padding), outputs)
  return outputs, by_inputs(inputs_dot) + by_kernel(kernel_dot)


class _TorchGeometryConv(nn.Module):
  """A square-kernel (transposed) convolution with PyTorch's `stride` and `padding` (and a
  transposed one's `output_padding`)."""
  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  output_padding: int = 0
  kernel_init: nn.initializers.Initializer = nn.initializers.normal(0.02)
  transposed: ClassVar[bool]

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    k, in_features = self.kernel_size, inputs.shape[-1]
    shape = (k, k, self.features, in_features) if self.transposed else (
        k, k, in_features, self.features)
    kernel = self.param("kernel", self.kernel_init, shape).astype(inputs.dtype)
    if self.transposed:
      outputs = conv_transpose(inputs, kernel, self.stride, self.padding, self.output_padding)
    else:
      outputs = conv(inputs, kernel, self.stride, self.padding)
    if self.use_bias:
      outputs += self.param("bias", nn.initializers.zeros, (self.features,))
    return outputs


class ConvTranspose(_TorchGeometryConv):
  """`nn.ConvTranspose` with PyTorch geometry and the fast gradients of `conv_transpose`;
  kernel `[k, k, features, in]`."""
  transposed = True


class Conv(_TorchGeometryConv):
  """`nn.Conv` with PyTorch geometry and the fast input gradient of `conv`; kernel
  `[k, k, in, features]` (HWIO)."""
  transposed = False


def _ordinary_conv_1d(inputs: Array, kernel: Array, left: int, right: int) -> Array:
  """Stride-1 correlation of `[n, length, in]` with `[taps, in, out]`, padded by `left` and
  `right` zeros (negative: cropped), as one matmul over the `taps` shifted copies of the
  input: its gradients, and theirs (a gradient penalty's), are matmuls too, where XLA:CPU
  runs the kernel gradients of convolutions slowly."""
  taps = kernel.shape[0]
  padded = lax.pad(inputs, jnp.zeros((), inputs.dtype), [(0, 0, 0), (left, right, 0), (0, 0, 0)])
  length = padded.shape[1] - taps + 1
  patches = jnp.concatenate([padded[:, t:t + length] for t in range(taps)], axis=-1)
  return patches @ kernel.reshape(-1, kernel.shape[-1])


def strided_conv_1d(inputs: Array, kernel: Array, stride: int) -> Array:
  """`nn.Conv(strides=stride, padding="SAME")` over `[n, length, in]` (length divisible by
  `stride`), kernel `[k, in, out]`, computed as a stride-1 convolution over blocks of
  `stride` samples ("space to depth"): the same values, and gradients without the
  lhs-dilated convolutions XLA:CPU runs slowly."""
  n, length, channels = inputs.shape
  k = kernel.shape[0]
  taps = -(-k // stride)  # Kernel blocks, the kernel zero-padded to taps * stride.
  left = max(k - stride, 0) // 2  # SAME: padding k - stride in all, the larger half right.
  right = taps * stride - stride - left
  blocks = jnp.pad(inputs, ((0, 0), (left, right), (0, 0))).reshape(n, -1, stride * channels)
  kernel = jnp.pad(kernel, ((0, taps * stride - k), (0, 0), (0, 0)))
  return _ordinary_conv_1d(blocks, kernel.reshape(taps, stride * channels, -1), 0, 0)


def conv_transpose_1d(inputs: Array, kernel: Array, stride: int) -> Array:
  """`nn.ConvTranspose(strides=stride, padding="SAME")` over `[n, length, in]` ->
  `[n, stride * length, out]`, kernel `[k, in, out]`, computed as one stride-1 convolution
  to `stride` phases of the output, interleaved ("depth to space"): the same values, and
  none of the inserted zeros XLA:CPU would multiply."""
  n, length, _ = inputs.shape
  k, _, features = kernel.shape
  # lax.conv_transpose's SAME padding: the input dilated by `stride`, padded by `lead` on
  # the left, correlated with the kernel. Output sample stride * m + p then sees input m + u
  # through tap stride * u + lead - p, for every u that makes it a tap.
  lead = k - 1 if stride > k - 1 else -(-(k + stride - 2) // 2)
  offsets = range(-(-(-lead) // stride), (k - 1 + stride - 1 - lead) // stride + 1)
  phases = []
  for p in range(stride):
    taps = [stride * u + lead - p for u in offsets]
    phases.append(jnp.stack([kernel[t] if 0 <= t < k else jnp.zeros_like(kernel[0])
                             for t in taps]))
  combined = jnp.concatenate(phases, axis=-1)  # [len(offsets), in, stride * out]
  outputs = _ordinary_conv_1d(inputs, combined, -offsets[0], offsets[-1])
  return outputs.reshape(n, length * stride, features)


class StridedConv1D(nn.Module):
  """`nn.Conv(features, (kernel_size,), strides=stride, padding="SAME")`, or
  `nn.ConvTranspose` of that geometry when `transposed` (same parameters and initialisers),
  computed by `strided_conv_1d` / `conv_transpose_1d`."""
  features: int
  kernel_size: int
  stride: int
  transposed: bool = False

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (self.kernel_size, inputs.shape[-1], self.features))
    convolve = conv_transpose_1d if self.transposed else strided_conv_1d
    outputs = convolve(inputs, kernel.astype(inputs.dtype), self.stride)
    return outputs + self.param("bias", nn.initializers.zeros, (self.features,))

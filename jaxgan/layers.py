"""Layers the standard Flax set lacks: a transposed convolution with a fast kernel gradient."""

import functools

import flax.linen as nn
import jax
from jax import lax

Array = jax.Array
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _strided_conv(inputs: Array, kernel: Array, stride: int, padding: int) -> Array:
  """The ordinary convolution whose input-adjoint is our transposed convolution."""
  return lax.conv_general_dilated(
      inputs, kernel, (stride, stride), ((padding, padding), (padding, padding)),
      dimension_numbers=_DIMENSIONS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose(inputs: Array, kernel: Array, stride: int, padding: int) -> Array:
  """Transposed convolution with PyTorch's `ConvTranspose2d` geometry.

  Args:
    inputs: `[n, h, w, in_features]`.
    kernel: `[k, k, out_features, in_features]`: the kernel of the strided
      convolution this layer is the adjoint of (PyTorch's weight layout
      `[in, out, k, k]` transposed to `(2, 3, 1, 0)`).
    stride: spatial stride `s`.
    padding: PyTorch's implicit padding `p`.

  Returns:
    `[n, (h - 1) s - 2p + k, (w - 1) s - 2p + k, out_features]`.
  """
  n, h, w, _ = inputs.shape
  k, _, out_features, _ = kernel.shape
  out_shape = (n, (h - 1) * stride - 2 * padding + k, (w - 1) * stride - 2 * padding + k,
               out_features)
  adjoint = jax.linear_transpose(
      lambda u: _strided_conv(u, kernel, stride, padding),
      jax.ShapeDtypeStruct(out_shape, inputs.dtype))
  return adjoint(inputs)[0]


def _conv_transpose_fwd(inputs, kernel, stride, padding):
  return conv_transpose(inputs, kernel, stride, padding), (inputs, kernel)


def _conv_transpose_bwd(stride, padding, residuals, output_grad):
  # Autodiff would take the kernel gradient of the lhs-dilated convolution,
  # which XLA:CPU runs 8-15x slower than an ordinary one. The layer is
  # bilinear: <g, conv_transpose(x, k)> = <conv(g, k), x>, so both gradients
  # are those of the ordinary strided convolution applied to the cotangent g.
  inputs, kernel = residuals
  inputs_grad, pullback = jax.vjp(
      lambda k: _strided_conv(output_grad, k, stride, padding), kernel)
  (kernel_grad,) = pullback(inputs)
  return inputs_grad, kernel_grad


conv_transpose.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)


class ConvTranspose(nn.Module):
  """`nn.ConvTranspose` with PyTorch geometry and a fast kernel gradient (see `conv_transpose`)."""
  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.normal(0.02)

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    kernel = self.param(
        "kernel", self.kernel_init,
        (self.kernel_size, self.kernel_size, self.features, inputs.shape[-1]))
    outputs = conv_transpose(inputs, kernel.astype(inputs.dtype), self.stride, self.padding)
    if self.use_bias:
      outputs += self.param("bias", nn.initializers.zeros, (self.features,))
    return outputs

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import layers


def _autodiff_conv_transpose(inputs, kernel, stride, padding, out_shape):
  """The same transposed convolution, differentiated by plain autodiff."""
  return jax.linear_transpose(
      lambda u: layers._strided_conv(u, kernel, stride, padding),
      jax.ShapeDtypeStruct(out_shape, inputs.dtype))(inputs)[0]


@pytest.mark.parametrize("size,stride,padding,kernel,output_padding", [
    (5, 2, 1, 4, 0), (4, 1, 0, 3, 0), (3, 2, 0, 4, 0), (4, 2, 1, 3, 1), (5, 2, 1, 3, 0)])
def test_custom_gradients_equal_autodiff(size, stride, padding, kernel, output_padding):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  k = jax.random.normal(jax.random.key(1), (kernel, kernel, 5, 3))
  y = layers.conv_transpose(x, k, stride, padding, output_padding)
  side = (size - 1) * stride - 2 * padding + kernel + output_padding
  assert y.shape == (2, side, side, 5)
  cotangent = jax.random.normal(jax.random.key(2), y.shape)
  fast = jax.grad(lambda x, k: jnp.sum(
      layers.conv_transpose(x, k, stride, padding, output_padding) * cotangent), (0, 1))(x, k)
  plain = jax.grad(lambda x, k: jnp.sum(
      _autodiff_conv_transpose(x, k, stride, padding, y.shape) * cotangent), (0, 1))(x, k)
  for a, b in zip(fast, plain):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_conv_transpose_is_the_adjoint_of_the_strided_conv():
  # <conv_transpose(x, k), u> == <x, conv(u, k)> for all x, u.
  x = jax.random.normal(jax.random.key(0), (1, 4, 4, 2))
  k = jax.random.normal(jax.random.key(1), (4, 4, 3, 2))
  u = jax.random.normal(jax.random.key(2), (1, 8, 8, 3))
  lhs = jnp.sum(layers.conv_transpose(x, k, 2, 1) * u)
  rhs = jnp.sum(x * layers._strided_conv(u, k, 2, 1))
  np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


@pytest.mark.parametrize("route,kernel", [
    ("_phase_conv_transpose", 4), ("_phase_conv_transpose", 3), ("_matmul_conv_transpose", 4)])
@pytest.mark.parametrize("size,in_features,out_features", [(4, 6, 2), (8, 3, 5)])
def test_stride_2_conv_transpose_routes_equal_the_dilated_convolution(
    route, kernel, size, in_features, out_features):
  x = jax.random.normal(jax.random.key(0), (2, size, size + 2, in_features))
  k = jax.random.normal(jax.random.key(1), (kernel, kernel, out_features, in_features))
  expected = layers._dilated_conv_transpose(x, k, 2, 1, (2 * size, 2 * size + 4))
  np.testing.assert_allclose(getattr(layers, route)(x, k), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("size,stride,padding,kernel,in_features,out_features", [
    (8, 2, 1, 4, 3, 8), (16, 2, 1, 4, 3, 8), (8, 2, 1, 4, 16, 8), (16, 2, 1, 4, 16, 8),
    (7, 2, 1, 4, 3, 8), (6, 1, 1, 3, 3, 8), (6, 1, 1, 3, 16, 3), (5, 1, 1, 3, 1, 1),
    (6, 1, 1, 3, 8, 8), (6, 1, 0, 3, 16, 3), (12, 1, 0, 7, 3, 8), (12, 1, 0, 7, 8, 3),
    (9, 1, 3, 7, 8, 3), (7, 1, 1, 4, 16, 1), (7, 1, 2, 4, 3, 8), (8, 2, 1, 3, 8, 16),
    (7, 2, 1, 3, 16, 8), (6, 1, 0, 1, 8, 5), (5, 1, 0, 1, 3, 16)])
def test_strided_conv_gradients_equal_autodiff(size, stride, padding, kernel, in_features,
                                               out_features):
  """Even sizes with stride 2, 4x4, padding 1 take the space-to-depth kernel gradient (image
  channels in) and the matmul (image channels in) or phase input gradient; stride 1 from or
  to image channels (CycleGAN's 7x7 without padding, PatchGAN's last 4x4) the neighbourhood
  and tap matmuls; stride 2, 3x3 in a small batch the neighbourhood matmul; 1x1 a matmul
  over features; the others XLA's own."""
  x = jax.random.normal(jax.random.key(0), (2, size, size + 1, in_features))
  k = jax.random.normal(jax.random.key(1), (kernel, kernel, in_features, out_features))
  y = layers.conv(x, k, stride, padding)
  np.testing.assert_allclose(y, layers._strided_conv(x, k, stride, padding), rtol=1e-5, atol=1e-5)
  cotangent = jax.random.normal(jax.random.key(2), y.shape)
  fast = jax.grad(lambda x, k: jnp.sum(layers.conv(x, k, stride, padding) * cotangent),
                  (0, 1))(x, k)
  plain = jax.grad(lambda x, k: jnp.sum(layers._strided_conv(x, k, stride, padding) * cotangent),
                   (0, 1))(x, k)
  for a, b in zip(fast, plain):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("size,padding,kernel,in_features,out_features", [
    (6, 1, 3, 5, 4), (7, 0, 3, 8, 8), (8, 2, 4, 3, 6), (5, 0, 1, 4, 2)])
def test_batch_minor_kernel_gradient_equals_autodiff(size, padding, kernel, in_features,
                                                     out_features):
  x = jax.random.normal(jax.random.key(0), (3, size, size + 1, in_features))
  k = jax.random.normal(jax.random.key(1), (kernel, kernel, in_features, out_features))
  y, pullback = jax.vjp(lambda k: layers._strided_conv(x, k, 1, padding), k)
  cotangent = jax.random.normal(jax.random.key(2), y.shape)
  np.testing.assert_allclose(layers._batch_minor_kernel_grad(x, cotangent, padding),
                             pullback(cotangent)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch,size,routed", [(64, 32, True), (64, 16, False), (8, 32, False)])
def test_only_large_stride_1_inputs_take_the_batch_minor_kernel_gradient(batch, size, routed):
  """sngan32's 32x32 activations (64 x 32 x 32 x 128 floats) do; a quarter of them does not."""
  inputs = jax.ShapeDtypeStruct((batch, size, size, 128), jnp.float32)
  kernel = jax.ShapeDtypeStruct((3, 3, 128, 128), jnp.float32)
  jaxpr = jax.make_jaxpr(lambda x, g, k: layers._kernel_grad(x, g, k, 1, 1))(
      inputs, inputs, kernel)
  assert ("dot_general" in str(jaxpr)) == routed


def test_cpu_compiler_options_keep_the_math():
  """`compiler_options()` only changes which kernels XLA uses: a convolution stack and its
  gradients agree with the default compilation."""
  x = jax.random.normal(jax.random.key(0), (4, 8, 8, 3))
  k1 = jax.random.normal(jax.random.key(1), (4, 4, 3, 16))
  k2 = jax.random.normal(jax.random.key(2), (4, 4, 3, 16))

  def loss(x, k1, k2):
    hidden = jax.nn.leaky_relu(layers.conv(x, k1, 2, 1), 0.2)
    return jnp.mean(layers.conv_transpose(hidden, k2, 2, 1) ** 2)

  grad = jax.value_and_grad(loss, (0, 1, 2))
  tuned = jax.jit(grad, compiler_options=layers.compiler_options())(x, k1, k2)
  default = jax.jit(grad)(x, k1, k2)
  for a, b in zip(jax.tree.leaves(tuned), jax.tree.leaves(default)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("stride,padding,kernel", [(2, 1, 4), (1, 0, 3), (1, 1, 3), (1, 0, 7)])
def test_forward_mode_autodiff_through_the_convolutions(transposed, stride, padding, kernel):
  """jax.jvp and jax.hessian work through both convolutions (the CPU routes included) and
  equal those of plain autodiff."""
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  # A transposed convolution's kernel is that of the convolution it is the adjoint of.
  shape = (kernel, kernel, 4, 3) if transposed else (kernel, kernel, 3, 4)
  k = jax.random.normal(jax.random.key(1), shape) * 0.3
  if transposed:
    out_shape = layers.conv_transpose(x, k, stride, padding).shape
    fast = lambda x, k: layers.conv_transpose(x, k, stride, padding)  # noqa: E731
    plain = lambda x, k: _autodiff_conv_transpose(x, k, stride, padding, out_shape)  # noqa: E731
  else:
    fast = lambda x, k: layers.conv(x, k, stride, padding)  # noqa: E731
    plain = lambda x, k: layers._strided_conv(x, k, stride, padding)  # noqa: E731
  tangents = (jax.random.normal(jax.random.key(2), x.shape),
              jax.random.normal(jax.random.key(3), k.shape))
  for a, b in zip(jax.jvp(fast, (x, k), tangents), jax.jvp(plain, (x, k), tangents)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
  scalar = lambda f: lambda k: jnp.sum(jnp.tanh(f(x, k)))  # noqa: E731
  np.testing.assert_allclose(jax.hessian(scalar(fast))(k), jax.hessian(scalar(plain))(k),
                             rtol=1e-4, atol=1e-4)

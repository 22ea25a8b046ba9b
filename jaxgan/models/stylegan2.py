"""StyleGAN2 (Karras et al. 2020): a mapping network, modulated convolutions with noise
inputs and a skip generator; a residual discriminator with minibatch standard deviation.

G maps latents z `[batch, latent_dim]` (normalised) through `mapping_layers` dense layers
to one intermediate latent w per layer `[batch, num_ws, w_dim]`, which `synthesis` turns
into images: a learned 4x4 constant, then per resolution a 3x3 convolution modulated by
w (each input channel scaled by a style, each output channel demodulated to unit
variance), per-pixel noise of learned strength and a bias-and-leaky-ReLU; the 1x1 "toRGB"
outputs of every resolution are summed, upsampled with the [1, 3, 3, 1] filter. In
training, `style_mixing_prob` of the batches switch to a second latent's w after a random
layer, and the mean w is tracked (`w_avg`, in `batch_stats`) for the truncation trick.
D: a 1x1 "fromRGB", then per resolution two 3x3 convolutions (the second one blurred and
strided) with a 1x1 residual branch ("resnet"; "orig" drops it), down to 4x4, then
minibatch standard deviation, a 3x3 convolution and two dense layers.

Every layer uses equalised learning rates (weights drawn from N(0, 1) and scaled by
1/sqrt(fan_in) at run time; the mapping's by `mapping_lr_multiplier` too), and widths
`min(channel_base // resolution, channel_max)`: the parameter counts equal those of
NVIDIA's stylegan2-ada-pytorch for the same options. With `num_classes`, G embeds the
one-hot label beside z and D projects its output on a mapped label (the same design).
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.errors import ConfigError
from jaxgan.models.common import batch_stddev_feature

Array = jax.Array
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")
_ARCHITECTURES = ("resnet", "orig")


def _lrelu(x: Array, gain: float = 1.0) -> Array:
  """Leaky ReLU (slope 0.2) scaled by sqrt(2) to keep unit variance, times `gain`."""
  return nn.leaky_relu(x, 0.2) * (math.sqrt(2.0) * gain)


def _normalize(x: Array) -> Array:
  """Each vector `[..., c]` scaled to unit mean square."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + 1e-8)


def _fir_up(x: Array, axis: int) -> Array:
  """2x upsampling along `axis` with the [1, 3, 3, 1] filter (zero outside): output
  `2i` is `(x[i-1] + 3 x[i]) / 4`, output `2i + 1` is `(3 x[i] + x[i+1]) / 4`."""
  padded = jnp.pad(x, [(1, 1) if a == axis else (0, 0) for a in range(x.ndim)])
  size = x.shape[axis]
  before, here, after = (lax.slice_in_dim(padded, i, i + size, axis=axis) for i in range(3))
  even, odd = 0.25 * before + 0.75 * here, 0.75 * here + 0.25 * after
  stacked = jnp.stack([even, odd], axis=axis + 1)
  return stacked.reshape(*x.shape[:axis], 2 * size, *x.shape[axis + 1:])


def upsample(x: Array) -> Array:
  """Maps `[batch, h, w, c]` -> `[batch, 2h, 2w, c]` with the separable [1, 3, 3, 1] filter."""
  return _fir_up(_fir_up(x, 1), 2)


def _fir_blur(x: Array, axis: int, pad: int, stride: int) -> Array:
  """The [1, 3, 3, 1] / 8 filter along `axis`, zero-padded by `pad` on both sides, every
  `stride`-th output."""
  padded = jnp.pad(x, [(pad, pad) if a == axis else (0, 0) for a in range(x.ndim)])
  size = (padded.shape[axis] - 4) // stride + 1
  taps = [lax.slice_in_dim(padded, i, i + stride * (size - 1) + 1, stride, axis) for i in range(4)]
  return (taps[0] + 3.0 * taps[1] + 3.0 * taps[2] + taps[3]) / 8.0


def blur(x: Array, *, pad: int, stride: int) -> Array:
  """`[batch, h, w, c]` through the separable [1, 3, 3, 1] filter: `pad=1, stride=2` halves
  the size (2x downsampling); `pad=2, stride=1` adds one row and column, ahead of a
  strided 3x3 convolution."""
  return _fir_blur(_fir_blur(x, 1, pad, stride), 2, pad, stride)


def _standard_normal(scale: float = 1.0):
  return lambda key, shape: jax.random.normal(key, shape) * scale


class EqualizedDense(nn.Module):
  """A dense layer with an equalised learning rate: `x @ (kernel * lr_multiplier /
  sqrt(fan_in)) + bias * lr_multiplier`, kernel drawn from N(0, 1 / lr_multiplier^2),
  then leaky ReLU if `activation`."""
  features: int
  activation: bool = False
  lr_multiplier: float = 1.0
  bias_init: float = 0.0

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param("kernel", _standard_normal(1.0 / self.lr_multiplier),
                        (x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.constant(self.bias_init), (self.features,))
    y = x @ (kernel * (self.lr_multiplier / math.sqrt(x.shape[-1])))
    y = y + bias * self.lr_multiplier
    return _lrelu(y) if self.activation else y


class MappingNetwork(nn.Module):
  """Latents `[batch, latent_dim]` (and labels `[batch]`) -> w `[batch, w_dim]`. With
  `latent_dim=0` it maps labels alone (D's label map)."""
  w_dim: int
  num_layers: int
  num_classes: int = 0
  lr_multiplier: float = 0.01

  @nn.compact
  def __call__(self, latents: Array | None, labels: Array | None = None) -> Array:
    parts = [] if latents is None else [_normalize(latents)]
    if self.num_classes:
      one_hot = jax.nn.one_hot(labels, self.num_classes)
      parts.append(_normalize(EqualizedDense(self.w_dim, name="embed")(one_hot)))
    x = jnp.concatenate(parts, axis=-1)
    for i in range(self.num_layers):
      x = EqualizedDense(self.w_dim, activation=True, lr_multiplier=self.lr_multiplier,
                         name=f"fc{i}")(x)
    return x


def modulated_conv(x: Array, kernel: Array, styles: Array, *, demodulate: bool = True) -> Array:
  """The modulated convolution: maps `[batch, h, w, in]` with a kernel `[k, k, in, out]`
  scaled per sample by `styles [batch, in]`, and, when `demodulate`, each output channel
  divided by the norm of its scaled kernel (as unit-variance inputs would leave it).
  Computed as one shared convolution of inputs scaled by the styles."""
  y = lax.conv_general_dilated(x * styles[:, None, None, :], kernel, (1, 1), "SAME",
                               dimension_numbers=_DIMENSIONS)
  if not demodulate:
    return y
  # |kernel * style|^2 over (k, k, in) = styles^2 @ sum_kk kernel^2.
  norms = jnp.square(styles) @ jnp.sum(jnp.square(kernel), axis=(0, 1))  # [batch, out]
  return y * lax.rsqrt(norms + 1e-8)[:, None, None, :]


class SynthesisLayer(nn.Module):
  """One modulated 3x3 convolution (after 2x upsampling if `up`), per-pixel noise scaled by
  a learned strength (if `noise`), bias and leaky ReLU."""
  features: int
  up: bool = False
  noise: bool = True

  @nn.compact
  def __call__(self, x: Array, w: Array) -> Array:
    channels = x.shape[-1]
    styles = EqualizedDense(channels, bias_init=1.0, name="affine")(w)
    kernel = self.param("kernel", _standard_normal(), (3, 3, channels, self.features))
    if self.up:
      x = upsample(x)
    x = modulated_conv(x, kernel * (1.0 / math.sqrt(9 * channels)), styles)
    if self.noise:
      strength = self.param("noise_strength", nn.initializers.zeros, ())
      x = x + strength * jax.random.normal(self.make_rng("noise"), (*x.shape[:3], 1), x.dtype)
    return _lrelu(x + self.param("bias", nn.initializers.zeros, (self.features,)))


class ToRGB(nn.Module):
  """Features `[batch, h, w, c]` -> image channels, a 1x1 modulated convolution without
  demodulation, plus a bias."""
  channels: int

  @nn.compact
  def __call__(self, x: Array, w: Array) -> Array:
    features = x.shape[-1]
    styles = EqualizedDense(features, bias_init=1.0, name="affine")(w)
    kernel = self.param("kernel", _standard_normal(), (1, 1, features, self.channels))
    y = modulated_conv(x, kernel, styles * (1.0 / math.sqrt(features)), demodulate=False)
    return y + self.param("bias", nn.initializers.zeros, (self.channels,))


def widths(size: int, channel_base: int, channel_max: int) -> dict[int, int]:
  """The features at each resolution 4, 8, ..., `size`."""
  return {4 * 2 ** i: min(channel_base // (4 * 2 ** i), channel_max)
          for i in range(int(math.log2(size)) - 1)}


class StyleGAN2Generator(nn.Module):
  """Latents `[batch, latent_dim]` (and labels `[batch]`) -> images `[batch, *data_shape]`,
  about [-1, 1] (not squashed). `truncation` < 1 pulls every w toward the tracked mean
  (the truncation trick); in training, style mixing and the mean w's update are on.
  `noise=False` leaves out the noise inputs (and their strengths)."""
  data_shape: Sequence[int]
  w_dim: int = 512
  mapping_layers: int = 8
  mapping_lr_multiplier: float = 0.01
  channel_base: int = 32768
  channel_max: int = 512
  style_mixing_prob: float = 0.9
  w_avg_beta: float = 0.995
  noise: bool = True
  num_classes: int = 0

  @property
  def num_ws(self) -> int:
    """One w per convolution, and one for the last toRGB."""
    return 2 * (int(math.log2(self.data_shape[0])) - 1)

  def setup(self):
    self.mapping_network = MappingNetwork(self.w_dim, self.mapping_layers, self.num_classes,
                                          self.mapping_lr_multiplier)
    self.w_avg = self.variable("batch_stats", "w_avg", jnp.zeros, (self.w_dim,))
    sizes = widths(self.data_shape[0], self.channel_base, self.channel_max)
    self.const = self.param("const", _standard_normal(), (4, 4, sizes[4]))
    layers = [(sizes[4], False)]  # (features, up) of each convolution.
    for size, features in sizes.items():
      layers += [(features, True), (features, False)] if size > 4 else []
    self.convs = [SynthesisLayer(features, up, self.noise, name=f"conv{i}")
                  for i, (features, up) in enumerate(layers)]
    self.to_rgb = [ToRGB(self.data_shape[-1], name=f"to_rgb{size}") for size in sizes]

  def mapping(self, latents: Array, labels: Array | None = None, *, train: bool = False,
              truncation: float = 1.0) -> Array:
    """z `[batch, latent_dim]` -> w `[batch, num_ws, w_dim]`; in training, the mean w's
    update and style mixing."""
    w = self.mapping_network(latents, labels)
    if train and not self.is_initializing():
      self.w_avg.value = self.w_avg.value * self.w_avg_beta + (
          jnp.mean(lax.stop_gradient(w), axis=0) * (1.0 - self.w_avg_beta))
    ws = jnp.broadcast_to(w[:, None], (w.shape[0], self.num_ws, self.w_dim))
    if train and self.style_mixing_prob:
      ws = self._mix_styles(ws, latents, labels)
    if isinstance(truncation, (int, float)) and truncation == 1:
      return ws
    return self.w_avg.value + truncation * (ws - self.w_avg.value)

  def _mix_styles(self, ws: Array, latents: Array, labels: Array | None) -> Array:
    """`ws` with, in `style_mixing_prob` of batches, the layers from a random cutoff on
    taken from the w of fresh latents."""
    rng = self.make_rng("noise")
    cutoff_rng, take_rng, latent_rng = jax.random.split(rng, 3)
    cutoff = jax.random.randint(cutoff_rng, (), 1, self.num_ws)
    cutoff = jnp.where(jax.random.uniform(take_rng) < self.style_mixing_prob, cutoff,
                       self.num_ws)
    other = self.mapping_network(jax.random.normal(latent_rng, latents.shape), labels)
    return jnp.where((jnp.arange(self.num_ws) < cutoff)[None, :, None], ws, other[:, None])

  def synthesis(self, ws: Array, *, train: bool = False) -> Array:
    """w `[batch, num_ws, w_dim]` -> images `[batch, *data_shape]`; noise from the
    `"noise"` stream."""
    del train  # The same in training and inference.
    x = jnp.broadcast_to(self.const, (ws.shape[0], *self.const.shape))
    x = self.convs[0](x, ws[:, 0])
    image = self.to_rgb[0](x, ws[:, 1])
    for block, to_rgb in enumerate(self.to_rgb[1:]):
      first = 1 + 2 * block  # conv0, conv1 and toRGB of this resolution take w first, +1, +2.
      x = self.convs[first](x, ws[:, first])
      x = self.convs[first + 1](x, ws[:, first + 1])
      image = upsample(image) + to_rgb(x, ws[:, first + 2])
    return image

  def __call__(self, latents: Array, labels: Array | None = None, *, train: bool = True,
               truncation: float = 1.0) -> Array:
    return self.synthesis(self.mapping(latents, labels, train=train, truncation=truncation),
                          train=train)


class _Conv(nn.Module):
  """An equalised-learning-rate convolution, `down`: blurred and strided to half the size;
  leaky ReLU times `gain` if `activation`, else times `gain` alone."""
  features: int
  kernel_size: int
  down: bool = False
  use_bias: bool = True
  activation: bool = True
  gain: float = 1.0

  @nn.compact
  def __call__(self, x: Array) -> Array:
    k = self.kernel_size
    kernel = self.param("kernel", _standard_normal(), (k, k, x.shape[-1], self.features))
    kernel = kernel * (1.0 / math.sqrt(k * k * x.shape[-1]))
    if self.down and k == 1:
      y = lax.conv_general_dilated(blur(x, pad=1, stride=2), kernel, (1, 1), "VALID",
                                   dimension_numbers=_DIMENSIONS)
    elif self.down:
      y = lax.conv_general_dilated(blur(x, pad=2, stride=1), kernel, (2, 2), "VALID",
                                   dimension_numbers=_DIMENSIONS)
    else:
      y = lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMENSIONS)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,))
    return _lrelu(y, self.gain) if self.activation else y * self.gain


class StyleGAN2Discriminator(nn.Module):
  """Images `[batch, h, w, c]` -> logits `[batch]` (see the module docstring).
  `minibatch_stddev`: the group size of the minibatch standard deviation (0: off);
  `mapping_layers`: the layers mapping labels for a conditional D."""
  channel_base: int = 32768
  channel_max: int = 512
  architecture: str = "resnet"
  minibatch_stddev: int = 4
  mapping_layers: int = 8
  num_classes: int = 0

  @nn.compact
  def __call__(self, images: Array, labels: Array | None = None, *,
               train: bool = True) -> Array:
    del train  # No statistics.
    if self.architecture not in _ARCHITECTURES:
      raise ConfigError(f"Unknown StyleGAN2 discriminator architecture "
                        f"{self.architecture!r}. Known: {', '.join(_ARCHITECTURES)}.")
    sizes = widths(images.shape[1], self.channel_base, self.channel_max)
    x = _Conv(sizes[images.shape[1]], 1, name="from_rgb")(images)
    for size in sorted(sizes, reverse=True)[:-1]:
      half = sizes[size // 2]
      residual = self.architecture == "resnet"
      gain = math.sqrt(0.5) if residual else 1.0
      y = _Conv(sizes[size], 3, name=f"b{size}_conv0")(x)
      y = _Conv(half, 3, down=True, gain=gain, name=f"b{size}_conv1")(y)
      if residual:
        y = y + _Conv(half, 1, down=True, use_bias=False, activation=False, gain=gain,
                      name=f"b{size}_skip")(x)
      x = y
    x = batch_stddev_feature(x, self.minibatch_stddev)
    x = _Conv(sizes[4], 3, name="b4_conv")(x)
    x = EqualizedDense(sizes[4], activation=True, name="b4_fc")(x.reshape(x.shape[0], -1))
    out = EqualizedDense(sizes[4] if self.num_classes else 1, name="b4_out")(x)
    if not self.num_classes:
      return out[:, 0]
    label_map = MappingNetwork(sizes[4], self.mapping_layers, self.num_classes,
                               name="mapping")(None, labels)
    return jnp.sum(out * label_map, axis=-1) / math.sqrt(sizes[4])


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del generator_kwargs
  size = data_shape[0] if len(data_shape) == 3 else 0
  if len(data_shape) != 3 or data_shape[1] != size or size < 4 or size & (size - 1):
    raise ConfigError(f"stylegan2 makes square images whose side is a power of 2 (>= 4), "
                      f"[size, size, channels]; the data has shape {tuple(data_shape)}. Set "
                      f"image_size to 16, 32, 64, ...")

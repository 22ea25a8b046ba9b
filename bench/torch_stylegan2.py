"""The PyTorch twin of jaxgan's StyleGAN2 (jaxgan/models/stylegan2.py), NCHW.

The same layers, names and parameter layouts as the Flax modules (dense kernels
`[in, out]`, the constant `[4, 4, c]`; convolution kernels as PyTorch's `[out, in, k, k]`),
so `load_jax` copies a jaxgan parameter tree by name. Unconditional, the generator as
configured (style mixing and noise inputs off for parity: they draw random numbers).
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional

_SQRT2 = math.sqrt(2.0)


def _lrelu(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
  return functional.leaky_relu(x, 0.2) * (_SQRT2 * gain)


def _normalize(x: torch.Tensor) -> torch.Tensor:
  return x * torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + 1e-8)


def _fir_up(x: torch.Tensor, dim: int) -> torch.Tensor:
  """2x upsampling along `dim` with the [1, 3, 3, 1] filter, as jaxgan's."""
  size = x.shape[dim]
  padded = functional.pad(x, (1, 1) if dim == 3 else (0, 0, 1, 1))
  before, here, after = (padded.narrow(dim, i, size) for i in range(3))
  stacked = torch.stack([0.25 * before + 0.75 * here, 0.75 * here + 0.25 * after], dim + 1)
  return stacked.flatten(dim, dim + 1)


def upsample(x: torch.Tensor) -> torch.Tensor:
  return _fir_up(_fir_up(x, 2), 3)


def blur(x: torch.Tensor, *, pad: int, stride: int) -> torch.Tensor:
  """The separable [1, 3, 3, 1] / 8 filter, padded by `pad`, every `stride`-th output."""
  taps = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device) / 8.0
  kernel = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 4, 4).contiguous()
  return functional.conv2d(functional.pad(x, (pad,) * 4), kernel, stride=stride,
                           groups=x.shape[1])


class EqualizedDense(nn.Module):
  def __init__(self, in_features: int, features: int, *, activation: bool = False,
               lr_multiplier: float = 1.0, bias_init: float = 0.0):
    super().__init__()
    self.kernel = nn.Parameter(torch.randn(in_features, features) / lr_multiplier)
    self.bias = nn.Parameter(torch.full((features,), bias_init))
    self.activation, self.lr_multiplier = activation, lr_multiplier
    self.gain = lr_multiplier / math.sqrt(in_features)

  def forward(self, x):
    y = x @ (self.kernel * self.gain) + self.bias * self.lr_multiplier
    return _lrelu(y) if self.activation else y


class MappingNetwork(nn.Module):
  def __init__(self, latent_dim: int, w_dim: int, num_layers: int, lr_multiplier: float):
    super().__init__()
    widths = [latent_dim] + [w_dim] * num_layers
    for i in range(num_layers):
      self.add_module(f"fc{i}", EqualizedDense(widths[i], w_dim, activation=True,
                                               lr_multiplier=lr_multiplier))
    self.num_layers = num_layers

  def forward(self, z):
    x = _normalize(z)
    for i in range(self.num_layers):
      x = getattr(self, f"fc{i}")(x)
    return x


def _modulated_conv(x, kernel, styles, *, demodulate: bool = True):
  """As jaxgan's `modulated_conv`, on NCHW with an OIHW kernel."""
  y = functional.conv2d(x * styles[:, :, None, None], kernel, padding=kernel.shape[-1] // 2)
  if not demodulate:
    return y
  norms = styles.square() @ kernel.square().sum(dim=(2, 3)).T  # [batch, out]
  return y * torch.rsqrt(norms + 1e-8)[:, :, None, None]


class SynthesisLayer(nn.Module):
  def __init__(self, in_channels: int, features: int, w_dim: int, up: bool, noise: bool):
    super().__init__()
    self.affine = EqualizedDense(w_dim, in_channels, bias_init=1.0)
    self.kernel = nn.Parameter(torch.randn(features, in_channels, 3, 3))
    self.noise_strength = nn.Parameter(torch.zeros(())) if noise else None
    self.bias = nn.Parameter(torch.zeros(features))
    self.up, self.gain = up, 1.0 / math.sqrt(9 * in_channels)

  def forward(self, x, w):
    styles = self.affine(w)
    if self.up:
      x = upsample(x)
    x = _modulated_conv(x, self.kernel * self.gain, styles)
    if self.noise_strength is not None:
      x = x + self.noise_strength * torch.randn(x.shape[0], 1, *x.shape[2:],
                                                        device=x.device)
    return _lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
  def __init__(self, in_channels: int, channels: int, w_dim: int):
    super().__init__()
    self.affine = EqualizedDense(w_dim, in_channels, bias_init=1.0)
    self.kernel = nn.Parameter(torch.randn(channels, in_channels, 1, 1))
    self.bias = nn.Parameter(torch.zeros(channels))
    self.gain = 1.0 / math.sqrt(in_channels)

  def forward(self, x, w):
    y = _modulated_conv(x, self.kernel, self.affine(w) * self.gain, demodulate=False)
    return y + self.bias[None, :, None, None]


def _widths(size: int, channel_base: int, channel_max: int) -> dict[int, int]:
  return {4 * 2 ** i: min(channel_base // (4 * 2 ** i), channel_max)
          for i in range(int(math.log2(size)) - 1)}


class StyleGAN2Generator(nn.Module):
  """Latents -> NCHW images; jaxgan's generator in inference mode (no mixing)."""

  def __init__(self, latent_dim: int, data_shape, *, w_dim: int = 512, mapping_layers: int = 8,
               mapping_lr_multiplier: float = 0.01, channel_base: int = 32768,
               channel_max: int = 512, noise: bool = True, **unused):
    super().__init__()
    del unused  # style_mixing_prob, w_avg_beta: training-time randomness and statistics.
    size, _, channels = data_shape
    sizes = _widths(size, channel_base, channel_max)
    self.mapping_network = MappingNetwork(latent_dim, w_dim, mapping_layers,
                                          mapping_lr_multiplier)
    self.const = nn.Parameter(torch.randn(4, 4, sizes[4]))
    layers = [(sizes[4], sizes[4], False)]
    for s, features in sizes.items():
      if s > 4:
        layers += [(sizes[s // 2], features, True), (features, features, False)]
    for i, (width_in, width, up) in enumerate(layers):
      self.add_module(f"conv{i}", SynthesisLayer(width_in, width, w_dim, up, noise))
    for s, features in sizes.items():
      self.add_module(f"to_rgb{s}", ToRGB(features, channels, w_dim))
    self.sizes, self.num_ws = list(sizes), 2 * len(sizes)

  def forward(self, z):
    w = self.mapping_network(z)
    x = self.const.permute(2, 0, 1)[None].expand(z.shape[0], -1, -1, -1)
    x = self.conv0(x, w)
    image = self.to_rgb4(x, w)
    for block, s in enumerate(self.sizes[1:]):
      first = 1 + 2 * block
      x = getattr(self, f"conv{first}")(x, w)
      x = getattr(self, f"conv{first + 1}")(x, w)
      image = upsample(image) + getattr(self, f"to_rgb{s}")(x, w)
    return image

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats
    load_by_name(self, params)


class _Conv(nn.Module):
  def __init__(self, in_channels: int, features: int, kernel_size: int, *, down: bool = False,
               use_bias: bool = True, activation: bool = True, gain: float = 1.0):
    super().__init__()
    self.kernel = nn.Parameter(torch.randn(features, in_channels, kernel_size, kernel_size))
    self.bias = nn.Parameter(torch.zeros(features)) if use_bias else None
    self.down, self.activation, self.gain = down, activation, gain
    self.weight_gain = 1.0 / math.sqrt(kernel_size * kernel_size * in_channels)

  def forward(self, x):
    kernel = self.kernel * self.weight_gain
    k = kernel.shape[-1]
    if self.down and k == 1:
      y = functional.conv2d(blur(x, pad=1, stride=2), kernel)
    elif self.down:
      y = functional.conv2d(blur(x, pad=2, stride=1), kernel, stride=2)
    else:
      y = functional.conv2d(x, kernel, padding=k // 2)
    if self.bias is not None:
      y = y + self.bias[None, :, None, None]
    return _lrelu(y, self.gain) if self.activation else y * self.gain


class StyleGAN2Discriminator(nn.Module):
  """NCHW images -> logits; jaxgan's unconditional discriminator."""

  def __init__(self, data_shape, *, channel_base: int = 32768, channel_max: int = 512,
               architecture: str = "resnet", minibatch_stddev: int = 4, **unused):
    super().__init__()
    del unused
    size, _, channels = data_shape
    sizes = _widths(size, channel_base, channel_max)
    self.from_rgb = _Conv(channels, sizes[size], 1)
    self.residual = architecture == "resnet"
    gain = math.sqrt(0.5) if self.residual else 1.0
    self.blocks = [s for s in sorted(sizes, reverse=True)[:-1]]
    for s in self.blocks:
      self.add_module(f"b{s}_conv0", _Conv(sizes[s], sizes[s], 3))
      self.add_module(f"b{s}_conv1", _Conv(sizes[s], sizes[s // 2], 3, down=True, gain=gain))
      if self.residual:
        self.add_module(f"b{s}_skip", _Conv(sizes[s], sizes[s // 2], 1, down=True,
                                            use_bias=False, activation=False, gain=gain))
    self.group = minibatch_stddev
    self.b4_conv = _Conv(sizes[4] + (1 if minibatch_stddev else 0), sizes[4], 3)
    self.b4_fc = EqualizedDense(sizes[4] * 16, sizes[4], activation=True)
    self.b4_out = EqualizedDense(sizes[4], 1)

  def _stddev(self, x):
    """jaxgan's `batch_stddev_feature` on NCHW."""
    if not self.group:
      return x
    batch = x.shape[0]
    group = min(self.group, batch)
    groups = x.reshape(group, batch // group, *x.shape[1:])
    stddev = torch.sqrt(groups.var(dim=0, unbiased=False) + 1e-8)
    stddev = stddev.reshape(batch // group, -1).mean(dim=1).repeat(group)
    return torch.cat([x, stddev[:, None, None, None].expand(-1, 1, *x.shape[2:])], dim=1)

  def forward(self, images):
    x = self.from_rgb(images)
    for s in self.blocks:
      y = getattr(self, f"b{s}_conv1")(getattr(self, f"b{s}_conv0")(x))
      x = y + getattr(self, f"b{s}_skip")(x) if self.residual else y
    x = self.b4_conv(self._stddev(x))
    x = self.b4_fc(x.permute(0, 2, 3, 1).flatten(1))  # jaxgan flattens [h, w, c].
    return self.b4_out(x)[:, 0]

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats
    load_by_name(self, params)


def load_by_name(module: nn.Module, params: dict, prefix: str = "") -> None:
  """Copies every array of a Flax parameter tree into the parameter of the same dotted name,
  HWIO convolution kernels as OIHW."""
  own = dict(module.named_parameters())
  for name, value in params.items():
    path = f"{prefix}{name}"
    if isinstance(value, dict):
      load_by_name(module, value, path + ".")
      continue
    array = np.asarray(value)
    if array.ndim == 4:
      array = array.transpose(3, 2, 0, 1)
    own[path].copy_(torch.from_numpy(np.array(array)))

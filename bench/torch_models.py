"""PyTorch twins of jaxgan's MLP GAN, DCGAN and SNGAN ResNets (StyleGAN2's in
bench/torch_stylegan2.py), and the same training step.

Same layer sizes, initialisation, BatchNorm placement and momentum, Adam settings,
losses and update order (D on real and detached fake, then G against the updated
D, reusing the one G forward pass) as `jaxgan.train_step` with the alternating
schedule. `copy_from_jax` loads jaxgan parameters, so the two can be compared on
equal weights.
"""

import math

import numpy as np
import torch
from torch import nn

from bench import torch_stylegan2

_BN = {"momentum": 0.1, "eps": 1e-5}  # Flax momentum 0.9.


def _lecun_normal_(weight: torch.Tensor, fan_in: int) -> None:
  """Flax's default Dense init: truncated normal with variance 1 / fan_in."""
  std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
  nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def _dcgan_init_(module: nn.Module) -> None:
  for m in module.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


class MLPGenerator(nn.Module):
  def __init__(self, latent_dim: int, data_shape, hidden_dims):
    super().__init__()
    self.data_shape = tuple(data_shape)
    widths = (latent_dim, *hidden_dims, math.prod(data_shape))
    self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
    for layer in self.layers:
      _lecun_normal_(layer.weight, layer.in_features)
      nn.init.zeros_(layer.bias)

  def forward(self, z):
    for layer in self.layers[:-1]:
      z = nn.functional.leaky_relu(layer(z), 0.2)
    return torch.tanh(self.layers[-1](z)).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
  def __init__(self, data_shape, hidden_dims):
    super().__init__()
    widths = (math.prod(data_shape), *hidden_dims, 1)
    self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
    for layer in self.layers:
      _lecun_normal_(layer.weight, layer.in_features)
      nn.init.zeros_(layer.bias)

  def forward(self, x):
    x = x.flatten(1)
    for layer in self.layers[:-1]:
      x = nn.functional.leaky_relu(layer(x), 0.2)
    return self.layers[-1](x).view(-1)


class DCGANGenerator(nn.Module):
  """NCHW; latent -> base x base x features[0] -> ... -> channels, like jaxgan's."""

  def __init__(self, latent_dim: int, data_shape, features):
    super().__init__()
    size, _, channels = data_shape
    self.base = size // 2 ** len(features)
    self.features0 = features[0]
    self.project = nn.Linear(latent_dim, self.base * self.base * features[0], bias=False)
    layers = [nn.BatchNorm2d(features[0], **_BN), nn.ReLU()]
    for a, b in zip(features[:-1], features[1:]):
      layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b, **_BN),
                 nn.ReLU()]
    layers += [nn.ConvTranspose2d(features[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
    self.body = nn.Sequential(*layers)
    _dcgan_init_(self)

  def forward(self, z):
    return self.body(self.project(z).view(-1, self.features0, self.base, self.base))


class DCGANDiscriminator(nn.Module):
  def __init__(self, data_shape, features, batch_norm: bool = True, use_bias: bool = False):
    super().__init__()
    size, _, channels = data_shape
    layers, width = [], channels
    for i, f in enumerate(features):
      layers.append(nn.Conv2d(width, f, 4, 2, 1, bias=use_bias))
      if batch_norm and i > 0:
        layers.append(nn.BatchNorm2d(f, **_BN))
      layers.append(nn.LeakyReLU(0.2))
      width = f
    base = size // 2 ** len(features)
    layers.append(nn.Conv2d(width, 1, base, 1, 0, bias=use_bias))
    self.body = nn.Sequential(*layers)
    _dcgan_init_(self)

  def forward(self, x):
    return self.body(x).view(-1)


def _up(x):
  return nn.functional.interpolate(x, scale_factor=2, mode="nearest")


class _SpectralNorm(nn.Module):
  """`layer` with its weight divided by its largest singular value, estimated by one power
  iteration per forward, kept in training (v from u, then u from v, as Flax's
  `nn.SpectralNorm`). The new `u` replaces the buffer rather than being written into it
  (as `nn.utils.spectral_norm` does): under torch.compile, the backward of an earlier
  forward still reads the old one."""

  def __init__(self, layer: nn.Module):
    super().__init__()
    self.layer = layer
    out_features = layer.weight.shape[0]
    self.register_buffer("weight_u", nn.functional.normalize(torch.randn(out_features), dim=0))

  def forward(self, x):
    matrix = self.layer.weight.flatten(1)
    with torch.no_grad():
      v = nn.functional.normalize(matrix.T @ self.weight_u, dim=0, eps=1e-12)
      u = nn.functional.normalize(matrix @ v, dim=0, eps=1e-12)
      if self.training:  # Kept in training only; inference iterates from the kept one too.
        self.weight_u = u
    weight = self.layer.weight / (u @ matrix @ v)
    if isinstance(self.layer, nn.Linear):
      return nn.functional.linear(x, weight, self.layer.bias)
    return self.layer._conv_forward(x, weight, self.layer.bias)  # pylint: disable=protected-access


def _sn(layer: nn.Module) -> nn.Module:
  return _SpectralNorm(layer)


def _load(layer: nn.Module, p: dict, u: np.ndarray | None = None) -> None:
  """A Flax Dense/Conv's kernel and bias (and spectral-norm vector `u`) into `layer`."""
  inner = getattr(layer, "layer", layer)  # Inside a _SpectralNorm.
  inner.weight.copy_(torch.from_numpy(np.array(_jax_to_torch_weight(np.asarray(p["kernel"]),
                                                                    inner))))
  inner.bias.copy_(torch.from_numpy(np.array(p["bias"])))
  if u is not None:
    layer.weight_u.copy_(torch.from_numpy(np.array(u).reshape(-1)))


def _load_bn(bn: nn.BatchNorm2d, p: dict) -> None:
  bn.weight.copy_(torch.from_numpy(np.array(p["scale"])))
  bn.bias.copy_(torch.from_numpy(np.array(p["bias"])))


def _sn_u(stats: dict, layer: str) -> np.ndarray | None:
  """The `u` Flax's SpectralNorm keeps for `layer` (in `SpectralNorm_<i>`), if any."""
  return next((s[f"{layer}/kernel/u"] for s in stats.values()
               if isinstance(s, dict) and f"{layer}/kernel/u" in s), None)


class _ResUp(nn.Module):
  def __init__(self, width_in: int, width: int):
    super().__init__()
    self.bn0, self.bn1 = nn.BatchNorm2d(width_in, **_BN), nn.BatchNorm2d(width, **_BN)
    self.conv0 = nn.Conv2d(width_in, width, 3, padding=1)
    self.conv1 = nn.Conv2d(width, width, 3, padding=1)
    self.shortcut = nn.Conv2d(width_in, width, 1)

  def forward(self, x):
    h = self.conv0(_up(nn.functional.relu(self.bn0(x))))
    h = self.conv1(nn.functional.relu(self.bn1(h)))
    return h + self.shortcut(_up(x))

  def load_jax(self, p: dict) -> None:
    _load_bn(self.bn0, p["BatchNorm_0"])
    _load_bn(self.bn1, p["BatchNorm_1"])
    for name in ("conv0", "conv1"):
      _load(getattr(self, name), p[f"Conv_{name[-1]}"])
    _load(self.shortcut, p["shortcut"])


class ResNetGenerator(nn.Module):
  """NCHW twin of jaxgan's `sngan_resnet` generator."""

  def __init__(self, latent_dim: int, data_shape, features):
    super().__init__()
    size, _, channels = data_shape
    self.base, self.features0 = size // 2 ** len(features), features[0]
    self.project = nn.Linear(latent_dim, self.base * self.base * features[0])
    widths = (features[0], *features)
    self.blocks = nn.ModuleList(_ResUp(a, b) for a, b in zip(widths[:-1], widths[1:]))
    self.bn = nn.BatchNorm2d(features[-1], **_BN)
    self.conv = nn.Conv2d(features[-1], channels, 3, padding=1)

  def forward(self, z):
    x = self.project(z).view(-1, self.base, self.base, self.features0).permute(0, 3, 1, 2)
    for block in self.blocks:
      x = block(x)
    return torch.tanh(self.conv(nn.functional.relu(self.bn(x))))

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats  # Running BatchNorm statistics play no part in training steps.
    _load(self.project, params["Dense_0"])
    for i, block in enumerate(self.blocks):
      block.load_jax(params[f"_UpBlock_{i}"])
    _load_bn(self.bn, params["BatchNorm_0"])
    _load(self.conv, params["Conv_0"])


class _ResDown(nn.Module):
  def __init__(self, width_in: int, width: int, down: bool, first: bool):
    super().__init__()
    self.down, self.first = down, first
    self.conv0 = _sn(nn.Conv2d(width_in, width, 3, padding=1))
    self.conv1 = _sn(nn.Conv2d(width, width, 3, padding=1))
    has_shortcut = first or down or width_in != width
    self.shortcut = _sn(nn.Conv2d(width_in, width, 1)) if has_shortcut else None

  def forward(self, x):
    h = self.conv1(nn.functional.relu(self.conv0(x if self.first else nn.functional.relu(x))))
    shortcut = x
    if self.first:
      shortcut = self.shortcut(nn.functional.avg_pool2d(x, 2))
    elif self.shortcut is not None:
      shortcut = self.shortcut(x)
    if self.down:
      h = nn.functional.avg_pool2d(h, 2)
      shortcut = shortcut if self.first else nn.functional.avg_pool2d(shortcut, 2)
    return h + shortcut

  def load_jax(self, params: dict, stats: dict) -> None:
    for name, flax_name in (("conv0", "conv_0"), ("conv1", "conv_1"), ("shortcut", "shortcut")):
      if getattr(self, name) is not None:
        _load(getattr(self, name), params[flax_name], _sn_u(stats, flax_name))


class ResNetDiscriminator(nn.Module):
  """NCHW twin of jaxgan's `sngan_resnet` discriminator, spectral norm on every kernel."""

  def __init__(self, data_shape, features, num_down: int = 2):
    super().__init__()
    widths = (data_shape[-1], *features)
    self.blocks = nn.ModuleList(_ResDown(a, b, down=i < num_down, first=i == 0)
                                for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
    self.linear = _sn(nn.Linear(features[-1], 1))

  def forward(self, x):
    for block in self.blocks:
      x = block(x)
    return self.linear(nn.functional.relu(x).sum(dim=(2, 3))).view(-1)

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    for i, block in enumerate(self.blocks):
      block.load_jax(params[f"_DownBlock_{i}"], batch_stats.get(f"_DownBlock_{i}", {}))
    _load(self.linear, params["Dense_0"], _sn_u(batch_stats, "Dense_0"))


def to_torch_layout(model: str, images: np.ndarray) -> torch.Tensor:
  """jaxgan's NHWC batch as the twin of `model` takes it: NCHW for convolutions, as is for
  the MLP (which flattens it in jaxgan's order)."""
  if model == "mlp":
    return torch.from_numpy(np.array(images))  # Writable copies: torch writes in place.
  return torch.from_numpy(np.array(np.asarray(images).transpose(0, 3, 1, 2)))


def build(model: str, data_shape, generator: dict, discriminator: dict, latent_dim: int = 100):
  """The (G, D) pair of jaxgan's `model` with the same keyword arguments."""
  if model == "mlp":
    return (MLPGenerator(latent_dim, data_shape, **generator),
            MLPDiscriminator(data_shape, **discriminator))
  if model == "stylegan2":
    return (torch_stylegan2.StyleGAN2Generator(latent_dim, data_shape, **generator),
            torch_stylegan2.StyleGAN2Discriminator(data_shape, **discriminator))
  if model == "sngan_resnet":
    return (ResNetGenerator(latent_dim, data_shape, **generator),
            ResNetDiscriminator(data_shape, **discriminator))
  return (DCGANGenerator(latent_dim, data_shape, **generator),
          DCGANDiscriminator(data_shape, **discriminator))


class TrainStep:
  """One alternating step, as `jaxgan.train_step`: D on real and detached fake, then G."""

  def __init__(self, generator, discriminator, *, learning_rate=2e-4, b1=0.5, b2=0.999):
    self.generator, self.discriminator = generator, discriminator
    self.g_optimizer = torch.optim.Adam(generator.parameters(), learning_rate, betas=(b1, b2))
    self.d_optimizer = torch.optim.Adam(discriminator.parameters(), learning_rate,
                                        betas=(b1, b2))
    self.bce = nn.BCEWithLogitsLoss()

  def __call__(self, real: torch.Tensor, latents: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """One step on NCHW `real` and `latents`; returns the D and G losses (no host sync)."""
    fake = self.generator(latents)
    self.d_optimizer.zero_grad(set_to_none=True)
    real_logits = self.discriminator(real)
    fake_logits = self.discriminator(fake.detach())
    d_loss = (self.bce(real_logits, torch.ones_like(real_logits))
              + self.bce(fake_logits, torch.zeros_like(fake_logits)))
    d_loss.backward()
    self.d_optimizer.step()

    self.g_optimizer.zero_grad(set_to_none=True)
    fake_logits = self.discriminator(fake)
    g_loss = self.bce(fake_logits, torch.ones_like(fake_logits))
    g_loss.backward()
    self.g_optimizer.step()
    return d_loss.detach(), g_loss.detach()


def _jax_to_torch_weight(kernel: np.ndarray, module: nn.Module) -> np.ndarray:
  if isinstance(module, nn.Linear):
    return kernel.T
  # Conv2d (O, I, kH, kW) <- HWIO; ConvTranspose2d (I, O, kH, kW) <- jaxgan's [k, k, O, I].
  return kernel.transpose(3, 2, 0, 1)


def copy_from_jax(module: nn.Module, params: dict, batch_stats: dict | None = None) -> None:
  """Loads a jaxgan parameter tree into its PyTorch twin (layers matched in order, or by name
  for the ResNets, spectral-norm vectors included)."""
  if hasattr(module, "load_jax"):
    with torch.no_grad():
      module.load_jax(params, batch_stats or {})
    return
  kernels = _in_order(params, ("Dense", "Conv", "ConvTranspose"))
  norms = _in_order(params, ("BatchNorm",))
  stats = _in_order(batch_stats or {}, ("BatchNorm",))
  weighted = [m for m in module.modules()
              if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
  bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
  assert len(kernels) == len(weighted) and len(norms) == len(bns), "architectures differ"
  with torch.no_grad():
    for m, p in zip(weighted, kernels):
      kernel = np.asarray(p["kernel"])
      if isinstance(module, DCGANGenerator) and m is module.project:
        # Dense output [h, w, c] (NHWC) feeds a view as [c, h, w] (NCHW).
        b, f = module.base, module.features0
        kernel = kernel.reshape(-1, b, b, f).transpose(0, 3, 1, 2).reshape(kernel.shape[0], -1)
      m.weight.copy_(torch.from_numpy(np.array(_jax_to_torch_weight(kernel, m))))
      if m.bias is not None:
        m.bias.copy_(torch.from_numpy(np.array(p["bias"])))
    for m, p, s in zip(bns, norms, stats or [None] * len(bns)):
      m.weight.copy_(torch.from_numpy(np.array(p["scale"])))
      m.bias.copy_(torch.from_numpy(np.array(p["bias"])))
      if s is not None:
        m.running_mean.copy_(torch.from_numpy(np.array(s["mean"])))
        m.running_var.copy_(torch.from_numpy(np.array(s["var"])))


def _in_order(tree: dict, prefixes: tuple[str, ...]) -> list[dict]:
  """Flax submodules named `<Prefix>_<i>`, in creation order (Dense/Conv before the rest)."""
  chosen = [(name.rsplit("_", 1)[0], int(name.rsplit("_", 1)[1]), value)
            for name, value in tree.items() if name.rsplit("_", 1)[0] in prefixes]
  return [value for _, _, value in sorted(chosen, key=lambda t: (prefixes.index(t[0]), t[1]))]

"""PyTorch twins of jaxgan's pix2pix and CycleGAN networks (NCHW), and their training steps
with jaxgan's math (the same losses, weights and update order as `jaxgan.train_step` with
the alternating schedule: D on real and detached fake, then G against the updated D).

A CycleGAN batch is `[batch, 2, channels, h, w]`: domain A at index 0, B at 1, as jaxgan's
`[batch, 2, h, w, channels]`. `load_jax` loads jaxgan parameters, so that the two can be
compared on equal weights (tests/test_bench_parity.py).
"""

import math

import numpy as np
import torch
from torch import nn

from bench.torch_models import _BN, _dcgan_init_, _jax_to_torch_weight

F = nn.functional


def _load_conv(layer: nn.Module, p: dict) -> None:
  layer.weight.copy_(torch.from_numpy(np.array(_jax_to_torch_weight(np.asarray(p["kernel"]),
                                                                    layer))))
  if layer.bias is not None:
    layer.bias.copy_(torch.from_numpy(np.array(p["bias"])))


def _norm(kind: str, features: int) -> nn.Module:
  if kind == "batch":
    return nn.BatchNorm2d(features, **_BN)
  if kind == "instance":
    return nn.InstanceNorm2d(features, eps=1e-5)
  return nn.Identity()


def _load_norms(norms: list[nn.Module], params: dict) -> None:
  """Flax's `BatchNorm_<i>` (in creation order) into the BatchNorm layers of `norms`."""
  batch_norms = [n for n in norms if isinstance(n, nn.BatchNorm2d)]
  for i, bn in enumerate(batch_norms):
    bn.weight.copy_(torch.from_numpy(np.array(params[f"BatchNorm_{i}"]["scale"])))
    bn.bias.copy_(torch.from_numpy(np.array(params[f"BatchNorm_{i}"]["bias"])))


class UNetGenerator(nn.Module):
  """Twin of `jaxgan.models.pix2pix.UNetGenerator`: `forward(sources)`."""

  def __init__(self, data_shape, in_channels: int, features: int = 64, num_downs: int = 0,
               dropout: float = 0.5, dropout_blocks: int = -1, norm: str = "batch"):
    super().__init__()
    size, _, channels = data_shape
    self.downs_count = downs = num_downs or int(math.log2(size))
    widths = [features * min(2 ** i, 8) for i in range(downs)]
    use_bias = norm != "batch"
    dropout_blocks = downs - 5 if dropout_blocks < 0 else dropout_blocks
    self.downs = nn.ModuleList(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=use_bias)
                               for c_in, c_out in zip([in_channels, *widths], widths))
    self.down_norms = nn.ModuleList(_norm(norm, w) if 0 < i < downs - 1 else nn.Identity()
                                    for i, w in enumerate(widths))
    # Decoder block i (from the innermost), from block i's output to block i-1's width.
    self.ups = nn.ModuleList(
        nn.ConvTranspose2d(widths[i] * (1 if i == downs - 1 else 2),
                           widths[i - 1] if i else channels, 4, 2, 1, bias=use_bias or not i)
        for i in reversed(range(downs)))
    self.up_norms = nn.ModuleList(_norm(norm, widths[i - 1]) if i else nn.Identity()
                                  for i in reversed(range(downs)))
    self.dropouts = nn.ModuleList(
        nn.Dropout(dropout) if downs - 1 - dropout_blocks <= i < downs - 1 else nn.Identity()
        for i in reversed(range(downs)))
    _dcgan_init_(self)

  def forward(self, sources: torch.Tensor) -> torch.Tensor:
    skips, x = [], sources
    for i, (conv, norm) in enumerate(zip(self.downs, self.down_norms)):
      x = norm(conv(F.leaky_relu(x, 0.2) if i else x))
      skips.append(x)
    for j, (conv, norm, dropout) in enumerate(zip(self.ups, self.up_norms, self.dropouts)):
      i = self.downs_count - 1 - j
      x = conv(F.relu(x))
      if not i:
        return torch.tanh(x)
      x = torch.cat([skips[i - 1], dropout(norm(x))], dim=1)
    raise AssertionError("unreachable")

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats
    for i, conv in enumerate(self.downs):
      _load_conv(conv, params[f"Conv_{i}"])
    for i, conv in enumerate(self.ups):
      _load_conv(conv, params[f"ConvTranspose_{i}"])
    _load_norms([*self.down_norms, *self.up_norms], params)


class PatchDiscriminator(nn.Module):
  """Twin of `jaxgan.models.pix2pix.PatchDiscriminator`: `forward(images, sources=None)`,
  logits `[batch, patches]`."""

  def __init__(self, in_channels: int, features: int = 64, num_layers: int = 3,
               norm: str = "batch"):
    super().__init__()
    widths = [features * min(2 ** n, 8) for n in range(num_layers + 1)]
    self.convs = nn.ModuleList(
        [nn.Conv2d(in_channels, features, 4, 2, 1)]
        + [nn.Conv2d(widths[n - 1], widths[n], 4, 2 if n < num_layers else 1, 1,
                     bias=norm != "batch") for n in range(1, num_layers + 1)]
        + [nn.Conv2d(widths[-1], 1, 4, 1, 1)])
    self.norms = nn.ModuleList(_norm(norm, w) for w in widths[1:])
    _dcgan_init_(self)

  def forward(self, images: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
    x = images if sources is None else torch.cat([sources, images], dim=1)
    x = F.leaky_relu(self.convs[0](x), 0.2)
    for conv, norm in zip(self.convs[1:-1], self.norms):
      x = F.leaky_relu(norm(conv(x)), 0.2)
    # jaxgan flattens NHWC logits: the same order for one channel.
    return self.convs[-1](x).flatten(1)

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats
    for i, conv in enumerate(self.convs):
      _load_conv(conv, params[f"Conv_{i}"])
    _load_norms(list(self.norms), params)


class _ResidualBlock(nn.Module):
  def __init__(self, features: int, norm: str):
    super().__init__()
    use_bias = norm != "batch"
    self.body = nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(features, features, 3, bias=use_bias),
        _norm(norm, features), nn.ReLU(),
        nn.ReflectionPad2d(1), nn.Conv2d(features, features, 3, bias=use_bias),
        _norm(norm, features))

  def forward(self, x):
    return x + self.body(x)


class ResNetTranslator(nn.Module):
  """Twin of `jaxgan.models.cyclegan.ResNetTranslator` (no dropout)."""

  def __init__(self, channels: int, features: int = 64, num_blocks: int = 9,
               norm: str = "instance"):
    super().__init__()
    use_bias = norm != "batch"
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, features, 7, bias=use_bias),
              _norm(norm, features), nn.ReLU()]
    for doubling in (1, 2):
      layers += [nn.Conv2d(features * doubling, features * 2 * doubling, 3, 2, 1,
                           bias=use_bias), _norm(norm, features * 2 * doubling), nn.ReLU()]
    layers += [_ResidualBlock(4 * features, norm) for _ in range(num_blocks)]
    for halving in (4, 2):
      layers += [nn.ConvTranspose2d(features * halving, features * halving // 2, 3, 2, 1, 1,
                                    bias=use_bias), _norm(norm, features * halving // 2),
                 nn.ReLU()]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(features, channels, 7), nn.Tanh()]
    self.model = nn.Sequential(*layers)
    _dcgan_init_(self)

  def forward(self, images):
    return self.model(images)

  def load_jax(self, params: dict) -> None:
    blocks = [m for m in self.model if isinstance(m, _ResidualBlock)]
    outer = [m for m in self.model if isinstance(m, nn.Conv2d)]
    transposed = [m for m in self.model if isinstance(m, nn.ConvTranspose2d)]
    for i, conv in enumerate(outer):
      _load_conv(conv, params[f"Conv_{i}"])
    for i, conv in enumerate(transposed):
      _load_conv(conv, params[f"ConvTranspose_{i}"])
    for i, block in enumerate(blocks):
      convs = [m for m in block.body if isinstance(m, nn.Conv2d)]
      for j, conv in enumerate(convs):
        _load_conv(conv, params[f"_ResidualBlock_{i}"][f"Conv_{j}"])


class CycleGenerator(nn.Module):
  """Twin of `jaxgan.models.cyclegan.CycleGenerator`: `[b, 2, c, h, w] -> [F(b), G(a)]`."""

  def __init__(self, data_shape, features: int = 64, num_blocks: int = 9,
               norm: str = "instance"):
    super().__init__()
    self.a_to_b = ResNetTranslator(data_shape[-1], features, num_blocks, norm)
    self.b_to_a = ResNetTranslator(data_shape[-1], features, num_blocks, norm)

  def forward(self, images):
    return torch.stack([self.b_to_a(images[:, 1]), self.a_to_b(images[:, 0])], dim=1)

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    del batch_stats
    self.a_to_b.load_jax(params["a_to_b"])
    self.b_to_a.load_jax(params["b_to_a"])


class CycleDiscriminator(nn.Module):
  """Twin of `jaxgan.models.cyclegan.CycleDiscriminator`: logits `[b, 2 * patches]`."""

  def __init__(self, data_shape, features: int = 64, num_layers: int = 3,
               norm: str = "instance"):
    super().__init__()
    self.judge_a = PatchDiscriminator(data_shape[-1], features, num_layers, norm)
    self.judge_b = PatchDiscriminator(data_shape[-1], features, num_layers, norm)

  def forward(self, images):
    return torch.cat([self.judge_a(images[:, 0]), self.judge_b(images[:, 1])], dim=1)

  def load_jax(self, params: dict, batch_stats: dict) -> None:
    self.judge_a.load_jax(params["judge_a"], batch_stats)
    self.judge_b.load_jax(params["judge_b"], batch_stats)


def build(model: str, data_shape, generator: dict, discriminator: dict):
  """The (G, D) twins of jaxgan's translation `model` ("pix2pix": `data_shape` is a target's,
  sources of as many channels; "cyclegan": `[2, h, w, c]`)."""
  if model == "pix2pix":
    channels = data_shape[-1]
    return (UNetGenerator(data_shape, channels, **generator),
            PatchDiscriminator(2 * channels, **discriminator))
  return CycleGenerator(data_shape, **generator), CycleDiscriminator(data_shape, **discriminator)


def to_torch_layout(images: np.ndarray) -> torch.Tensor:
  """jaxgan's `[..., h, w, c]` images as `[..., c, h, w]`."""
  order = (*range(images.ndim - 3), images.ndim - 1, images.ndim - 3, images.ndim - 2)
  return torch.from_numpy(np.array(np.asarray(images).transpose(order)))


class TrainStep:
  """One alternating step of pix2pix (non-saturating loss + `l1` x L1, D on `(source,
  image)` pairs) or CycleGAN (least squares with jaxgan's halved squares + `cycle` x cycle +
  `identity` x identity, means over both domains, no image pool), with jaxgan's math."""

  def __init__(self, model: str, generator, discriminator, *, l1: float = 100.0,
               cycle: float = 5.0, identity: float = 2.5, learning_rate=2e-4, b1=0.5, b2=0.999):
    self.model, self.generator, self.discriminator = model, generator, discriminator
    self.weights = {"l1": l1, "cycle": cycle, "identity": identity}
    self.g_optimizer = torch.optim.Adam(generator.parameters(), learning_rate, betas=(b1, b2))
    self.d_optimizer = torch.optim.Adam(discriminator.parameters(), learning_rate,
                                        betas=(b1, b2))
    self.bce = nn.BCEWithLogitsLoss()

  def _d_loss(self, real_logits, fake_logits):
    if self.model == "pix2pix":
      return (self.bce(real_logits, torch.ones_like(real_logits))
              + self.bce(fake_logits, torch.zeros_like(fake_logits)))
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()

  def __call__(self, real: torch.Tensor, sources: torch.Tensor | None = None
               ) -> dict[str, torch.Tensor]:
    """One step on NCHW `real` (pix2pix: targets, with `sources`; CycleGAN: both domains);
    returns the losses (no host sync)."""
    paired = self.model == "pix2pix"
    judge = (lambda x: self.discriminator(x, sources)) if paired else self.discriminator
    fake = self.generator(sources if paired else real)
    self.d_optimizer.zero_grad(set_to_none=True)
    d_loss = self._d_loss(judge(real), judge(fake.detach()))
    d_loss.backward()
    self.d_optimizer.step()

    self.g_optimizer.zero_grad(set_to_none=True)
    fake_logits = judge(fake)
    if paired:
      adversarial = self.bce(fake_logits, torch.ones_like(fake_logits))
      terms = {"l1": (fake - real).abs().mean()}
    else:
      adversarial = 0.5 * ((fake_logits - 1) ** 2).mean()
      terms = {"cycle": (self.generator(fake) - real).abs().mean(),
               "identity": (self.generator(real.flip(1)) - real).abs().mean()}
    g_loss = adversarial + sum(self.weights[name] * value for name, value in terms.items())
    g_loss.backward()
    self.g_optimizer.step()
    return {"d/loss": d_loss.detach(), "g/loss": adversarial.detach(),
            **{f"g/{name}": value.detach() for name, value in terms.items()}}

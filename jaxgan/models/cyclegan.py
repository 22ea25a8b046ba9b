"""CycleGAN (Zhu et al. 2017): two ResNet generators and two PatchGAN discriminators, each
pair held by one module, so that the step sees one G and one D.

A sample of unpaired data holds an image of each domain, `[2, size, size, channels]`: A at
index 0, B at 1. `CycleGenerator` maps such a batch to the other domain, index by index:
`[F(b), G(a)]`, each translation at the index of the domain it is now in. Applied to its
own output it gives the cycle reconstructions `[F(G(a)), G(F(b))]`, and to the batch with
its domains swapped, the identity mappings `[F(a), G(b)]` (jaxgan.translation).
`CycleDiscriminator` judges index 0 with D_A and index 1 with D_B.

With their defaults the networks equal the authors' for their default CycleGAN options
(`--netG resnet_9blocks --netD basic --norm instance`, no dropout): 11,378,179 parameters
in each generator and 2,764,737 in each discriminator (tests/test_translation.py).
"""

from typing import ClassVar, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers
from jaxgan.errors import ConfigError
from jaxgan.models.common import dcgan_init, image_norm
from jaxgan.models.pix2pix import PatchDiscriminator

Array = jax.Array


def _reflect(x: Array, width: int) -> Array:
  """`x [batch, h, w, c]` padded by `width` pixels mirrored at each edge."""
  return jnp.pad(x, ((0, 0), (width, width), (width, width), (0, 0)), mode="reflect")


class _ResidualBlock(nn.Module):
  """`x + [reflect-pad, 3x3 conv, norm, ReLU, (dropout), reflect-pad, 3x3 conv, norm](x)`."""
  norm: str
  dropout: float
  batch_norm_axis: str | None

  @nn.compact
  def __call__(self, x: Array, *, train: bool) -> Array:
    features, use_bias = x.shape[-1], self.norm != "batch"
    y = layers.Conv(features, 3, stride=1, padding=0, use_bias=use_bias,
                    kernel_init=dcgan_init)(_reflect(x, 1))
    y = nn.relu(image_norm(self.norm, train, self.batch_norm_axis)(y))
    if self.dropout:
      y = nn.Dropout(self.dropout, deterministic=False, rng_collection="noise")(y)
    y = layers.Conv(features, 3, stride=1, padding=0, use_bias=use_bias,
                    kernel_init=dcgan_init)(_reflect(y, 1))
    return x + image_norm(self.norm, train, self.batch_norm_axis)(y)


class ResNetTranslator(nn.Module):
  """The CycleGAN generator (after Johnson et al. 2016): a reflect-padded 7x7 convolution,
  two stride-2 3x3 ones down, `num_blocks` residual blocks at `4 * features`, two stride-2
  3x3 transposed ones up, a 7x7 one to `channels` and tanh; `norm` and ReLU after all but
  the last. `[batch, size, size, c] -> [batch, size, size, channels]`, size divisible by 4.
  """
  channels: int
  features: int = 64
  num_blocks: int = 9
  norm: str = "instance"
  dropout: float = 0.0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, images: Array, *, train: bool = True) -> Array:
    use_bias = self.norm != "batch"

    def norm_relu(x):
      return nn.relu(image_norm(self.norm, train, self.batch_norm_axis)(x))

    x = layers.Conv(self.features, 7, stride=1, padding=0, use_bias=use_bias,
                    kernel_init=dcgan_init)(_reflect(images, 3))
    x = norm_relu(x)
    for doubling in (2, 4):
      x = norm_relu(layers.Conv(self.features * doubling, 3, stride=2, padding=1,
                                use_bias=use_bias, kernel_init=dcgan_init)(x))
    for _ in range(self.num_blocks):
      x = _ResidualBlock(self.norm, self.dropout, self.batch_norm_axis)(x, train=train)
    for halving in (2, 1):
      x = norm_relu(layers.ConvTranspose(self.features * halving, 3, stride=2, padding=1,
                                         output_padding=1, use_bias=use_bias,
                                         kernel_init=dcgan_init)(x))
    x = layers.Conv(self.channels, 7, stride=1, padding=0, kernel_init=dcgan_init)(
        _reflect(x, 3))
    return jnp.tanh(x)


class CycleGenerator(nn.Module):
  """Both CycleGAN generators, `a_to_b` (G) and `b_to_a` (F), as one module: takes latents
  (ignored: CycleGAN has no noise) and a batch of both domains `[batch, 2, *image_shape]`;
  returns `[F(b), G(a)]` stacked the same way (see the module docstring)."""
  data_shape: Sequence[int]
  features: int = 64
  num_blocks: int = 9
  networks: ClassVar[tuple[str, ...]] = ("a_to_b", "b_to_a")  # Named in summaries.
  norm: str = "instance"
  dropout: float = 0.0
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, latents: Array, images: Array, *, train: bool = True) -> Array:
    del latents
    translators = {name: ResNetTranslator(self.data_shape[-1], self.features, self.num_blocks,
                                          self.norm, self.dropout, self.batch_norm_axis,
                                          name=name) for name in ("b_to_a", "a_to_b")}
    return jnp.stack([translators["b_to_a"](images[:, 1], train=train),
                      translators["a_to_b"](images[:, 0], train=train)], axis=1)


class CycleDiscriminator(nn.Module):
  """Both CycleGAN discriminators as one module: `judge_a` (D_A) on index 0 of
  `[batch, 2, *image_shape]`, `judge_b` (D_B) on index 1, each a PatchGAN; returns their
  logits side by side, `[batch, 2 * patches]`."""
  features: int = 64
  num_layers: int = 3
  norm: str = "instance"
  batch_norm_axis: str | None = None
  networks: ClassVar[tuple[str, ...]] = ("judge_a", "judge_b")

  @nn.compact
  def __call__(self, images: Array, *, train: bool = True) -> Array:
    judges = [PatchDiscriminator(self.features, self.num_layers, self.norm,
                                 self.batch_norm_axis, name=name)
              for name in ("judge_a", "judge_b")]
    return jnp.concatenate([judge(images[:, i], train=train)
                            for i, judge in enumerate(judges)], axis=1)


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  del generator_kwargs
  if len(data_shape) != 4 or data_shape[0] != 2 or data_shape[1] % 4 or data_shape[2] % 4:
    raise ConfigError(f"CycleGAN takes unpaired images of two domains, samples of shape "
                      f"(2, height, width, channels) with sides divisible by 4 (the "
                      f"translation task's); got {tuple(data_shape)}. Use task='translation' "
                      f"with an unpaired dataset.")

"""pix2pix (Isola et al. 2017): a U-Net generator that translates a source image, and the
PatchGAN discriminator, which judges every overlapping patch of an image (of a
`(source, image)` pair when given sources).

With their defaults both equal the networks of the authors' code for its default pix2pix
options (`--netG unet_256 --netD basic --norm batch`, dropout on): 54,413,955 and 2,768,705
parameters at 256x256 (tests/test_translation.py).
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers
from jaxgan.errors import ConfigError
from jaxgan.models.common import dcgan_init, image_norm

Array = jax.Array


class UNetGenerator(nn.Module):
  """The U-Net of pix2pix: `num_downs` stride-2 4x4 convolutions (LeakyReLU 0.2, `norm` on
  all but the first and last) down to `size / 2**num_downs` (default: 1x1), then as many
  transposed ones up (ReLU, `norm`), each taking the matching encoder maps beside its input;
  tanh out. Widths double from `features` to `8 * features`.

  The generator has no latent input: its noise is dropout (rate `dropout`, from the
  `"noise"` stream, on in sampling too, as in the paper) after the `dropout_blocks` decoder
  blocks next to the innermost one (-1: the authors' choice, every one of width
  `8 * features` but the innermost: `num_downs - 5`).

  Takes latents (ignored) `[batch, latent_dim]` and sources `[batch, size, size, c_in]`;
  returns images `[batch, *data_shape]` in [-1, 1].
  """
  data_shape: Sequence[int]
  features: int = 64
  num_downs: int = 0  # 0: log2(size), down to 1x1.
  dropout: float = 0.5
  dropout_blocks: int = -1
  norm: str = "batch"
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, latents: Array, sources: Array, *, train: bool = True) -> Array:
    del latents
    size, _, channels = self.data_shape
    downs = self.num_downs or int(math.log2(size))
    widths = [self.features * min(2 ** i, 8) for i in range(downs)]
    dropout_blocks = downs - 5 if self.dropout_blocks < 0 else self.dropout_blocks
    use_bias = self.norm != "batch"  # A bias before BatchNorm would be undone by it.

    def norm(x):
      return image_norm(self.norm, train, self.batch_norm_axis)(x)

    skips, x = [], sources
    for i, width in enumerate(widths):
      if i:
        x = nn.leaky_relu(x, 0.2)
      x = layers.Conv(width, use_bias=use_bias, kernel_init=dcgan_init)(x)
      if 0 < i < downs - 1:
        x = norm(x)
      skips.append(x)
    for i in reversed(range(1, downs)):
      x = layers.ConvTranspose(widths[i - 1], use_bias=use_bias, kernel_init=dcgan_init)(
          nn.relu(x))
      x = norm(x)
      if downs - 1 - dropout_blocks <= i < downs - 1:
        x = nn.Dropout(self.dropout, deterministic=False, rng_collection="noise")(x)
      x = jnp.concatenate([skips[i - 1], x], axis=-1)
    return jnp.tanh(layers.ConvTranspose(channels, kernel_init=dcgan_init)(nn.relu(x)))


class PatchDiscriminator(nn.Module):
  """PatchGAN: a stride-2 4x4 convolution (LeakyReLU 0.2), `num_layers - 1` more with
  `norm`, one of stride 1, and a stride-1 convolution to one logit per patch: 70x70 patches
  at `num_layers=3`. Conditional on `sources` when given: it judges `(source, image)` pairs,
  their channels concatenated (pix2pix).

  Takes images `[batch, h, w, c]` (and sources `[batch, h, w, c_in]`); returns logits
  `[batch, patches]`.
  """
  features: int = 64
  num_layers: int = 3
  norm: str = "batch"
  batch_norm_axis: str | None = None

  @nn.compact
  def __call__(self, images: Array, sources: Array | None = None, *,
               train: bool = True) -> Array:
    if patch_grid_size(images.shape[1], self.num_layers) < 1:
      fits = [n for n in range(1, 9) if patch_grid_size(images.shape[1], n) >= 1]
      raise ConfigError(f"A PatchGAN discriminator with num_layers={self.num_layers} has no "
                        f"patch left on {images.shape[1]}x{images.shape[2]} images; set "
                        f"discriminator.num_layers to at most {max(fits, default=0)}.")
    x = images if sources is None else jnp.concatenate([sources, images], axis=-1)
    use_bias = self.norm != "batch"
    x = nn.leaky_relu(layers.Conv(self.features, kernel_init=dcgan_init)(x), 0.2)
    for n in range(1, self.num_layers + 1):
      x = layers.Conv(self.features * min(2 ** n, 8), stride=2 if n < self.num_layers else 1,
                      use_bias=use_bias, kernel_init=dcgan_init)(x)
      x = nn.leaky_relu(image_norm(self.norm, train, self.batch_norm_axis)(x), 0.2)
    x = layers.Conv(1, stride=1, kernel_init=dcgan_init)(x)
    return x.reshape(x.shape[0], -1)


def patch_grid_size(size: int, num_layers: int) -> int:
  """The side of a PatchGAN's logit grid on `size` x `size` images."""
  for _ in range(num_layers):
    size //= 2
  return size - 2  # The two stride-1 4x4 convolutions with padding 1.


def check_data_shape(data_shape: Sequence[int], generator_kwargs: dict) -> None:
  size = data_shape[0]
  downs = generator_kwargs.get("num_downs") or int(math.log2(max(size, 1)))
  if len(data_shape) != 3 or data_shape[0] != data_shape[1] or size % 2 ** downs:
    raise ConfigError(f"The pix2pix U-Net takes square images whose side is divisible by "
                      f"2**num_downs = {2 ** downs}; got data of shape {tuple(data_shape)}. Set "
                      f"image_size to a power of 2, or generator.num_downs.")

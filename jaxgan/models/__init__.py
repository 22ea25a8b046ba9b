"""Generators and discriminators (Flax linen), one module per family, and a registry of them.

Every generator maps latents `[batch, latent_dim]` to samples `[batch, *data_shape]`
in `[-1, 1]` (or unbounded, for `output_activation="identity"`; one-hot characters
`[batch, length, vocabulary]` for the character model, clips `[batch, length, 1]` for
WaveGAN); every
discriminator maps samples to logits `[batch]`, never probabilities.
Both take `train` to switch BatchNorm between batch and running statistics.

With `num_classes > 0` both are class-conditional and take integer `labels [batch]`
after their first argument: G appends the one-hot label to its latent (Mirza &
Osindero 2014), D adds a projection term `<embed(label), features>` to its logit
(Miyato & Koyama 2018).

A family is a `ModelPair`; `get(name)` returns a registered one, or your own as
`"package.module:attribute"`.
"""

from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn

from jaxgan.models import (
  cyclegan,
  dcgan,
  mlp,
  msg,
  pix2pix,
  progressive,
  resnet,
  sequence,
  stylegan2,
  table,
  wavegan,
)
from jaxgan.models.attention import SelfAttention
from jaxgan.models.cyclegan import CycleDiscriminator, CycleGenerator
from jaxgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from jaxgan.models.mlp import MLPDiscriminator, MLPGenerator
from jaxgan.models.msg import MSGDiscriminator, MSGGenerator
from jaxgan.models.pix2pix import PatchDiscriminator, UNetGenerator
from jaxgan.models.progressive import ProgressiveDiscriminator, ProgressiveGenerator
from jaxgan.models.resnet import ResNetDiscriminator, ResNetGenerator
from jaxgan.models.sequence import CharDiscriminator, CharGenerator
from jaxgan.models.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from jaxgan.models.table import TableGenerator
from jaxgan.models.wavegan import WaveGANDiscriminator, WaveGANGenerator
from jaxgan.registry import Registry


class ModelPair(NamedTuple):
  """The generator and discriminator classes of one architecture.

  `check_data_shape(data_shape, generator_kwargs)` raises ConfigError if the
  generator cannot produce samples of that shape. A generator that returns more
  than the samples (MSG-GAN's pyramid, whose last entry is the samples) names
  `real_inputs(generator_kwargs)`: the function that turns a real batch into the
  same structure for D. A pair that grows progressively names
  `num_phases(generator_kwargs, discriminator_kwargs)`; its G and D then take `phase` and
  `alpha` in training (jaxgan.models.progressive). A generator that needs more of the data
  than its shape (a table's row layout) takes it from the task (`DataSpec.generator_kwargs`).
  """
  generator: type[nn.Module]
  discriminator: type[nn.Module]
  check_data_shape: Callable[[Sequence[int], dict], None]
  real_inputs: Callable[[dict], Callable[[Any], Any]] | None = None
  num_phases: Callable[[dict, dict], int] | None = None


MODELS = Registry("model", {
    "mlp": ModelPair(MLPGenerator, MLPDiscriminator, mlp.check_data_shape),
    "dcgan": ModelPair(DCGANGenerator, DCGANDiscriminator, dcgan.check_data_shape),
    "sngan_resnet": ModelPair(ResNetGenerator, ResNetDiscriminator, resnet.check_data_shape),
    "msg": ModelPair(MSGGenerator, MSGDiscriminator, msg.check_data_shape, msg.real_inputs),
    "progressive": ModelPair(ProgressiveGenerator, ProgressiveDiscriminator,
                             progressive.check_data_shape, num_phases=progressive.num_phases),
    "stylegan2": ModelPair(StyleGAN2Generator, StyleGAN2Discriminator,
                           stylegan2.check_data_shape),
    "pix2pix": ModelPair(UNetGenerator, PatchDiscriminator, pix2pix.check_data_shape),
    "cyclegan": ModelPair(CycleGenerator, CycleDiscriminator, cyclegan.check_data_shape),
    "char_resnet": ModelPair(CharGenerator, CharDiscriminator, sequence.check_data_shape),
    "tabular": ModelPair(TableGenerator, MLPDiscriminator, table.check_data_shape),
    "wavegan": ModelPair(WaveGANGenerator, WaveGANDiscriminator, wavegan.check_data_shape),
})


def get(name: str) -> ModelPair:
  """The `ModelPair` registered as `name`, or `"module:attribute"` for your own."""
  return MODELS.get(name)


__all__ = ["CharDiscriminator", "CharGenerator", "CycleDiscriminator", "CycleGenerator",
           "DCGANDiscriminator", "DCGANGenerator",
           "MLPDiscriminator", "MLPGenerator", "MODELS", "MSGDiscriminator", "MSGGenerator",
           "ModelPair", "PatchDiscriminator", "ProgressiveDiscriminator", "ProgressiveGenerator",
           "ResNetDiscriminator", "ResNetGenerator", "SelfAttention", "StyleGAN2Discriminator",
           "StyleGAN2Generator", "TableGenerator", "UNetGenerator",
           "WaveGANDiscriminator", "WaveGANGenerator", "get"]

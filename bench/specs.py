"""The models the benchmark compares, described once for both frameworks."""

import jax
import ml_collections
import numpy as np

from configs import default
from jaxgan.tasks import DataSpec

# name -> (data shape HWC, config overrides). Adam 2e-4 (b1 0.5), non-saturating
# loss, latent 100, alternating D-then-G updates, for both frameworks.
MODELS = {
    "mlp28": ((28, 28, 1), {"model": "mlp",
                            "generator": {"hidden_dims": (256, 512, 1024)},
                            "discriminator": {"hidden_dims": (1024, 512, 256)}}),
    "dcgan32": ((32, 32, 1), {"model": "dcgan",
                              "generator": {"features": (256, 128, 64)},
                              "discriminator": {"features": (64, 128, 256), "batch_norm": True,
                                                "use_bias": False}}),
    "dcgan64": ((64, 64, 1), {"model": "dcgan",
                              "generator": {"features": (512, 256, 128, 64)},
                              "discriminator": {"features": (64, 128, 256, 512),
                                                "batch_norm": True, "use_bias": False}}),
    # The newer families at CIFAR-10 sizes: SNGAN's ResNets as in the paper, and MSG-GAN
    # with every scale from 4 to 32 px (jaxgan only: no PyTorch twin yet).
    "sngan32": ((32, 32, 3), {"model": "sngan_resnet",
                              "generator": {"features": (256, 256, 256)},
                              "discriminator": {"features": (128, 128, 128, 128),
                                                "num_down": 2}}),
    "msg32": ((32, 32, 3), {"model": "msg",
                            "generator": {"features": (256, 256, 128, 64)},
                            "discriminator": {"features": (64, 128, 256, 256)}}),
    # Fully grown (no growth schedule): the step of the last, most expensive phase.
    "progressive32": ((32, 32, 3), {"model": "progressive",
                                    "generator": {"features": (256, 256, 128, 64)},
                                    "discriminator": {"features": (64, 128, 256, 256)}}),
    # StyleGAN2 at 32x32 with 256 features at every resolution and a 2-layer mapping network
    # (the paper's CIFAR-10 model has 512), without style mixing: the PyTorch twin draws none.
    "stylegan2": ((32, 32, 3), {"model": "stylegan2", "latent_dim": 256,
                                "generator": {"w_dim": 256, "mapping_layers": 2,
                                              "channel_base": 8192, "channel_max": 256,
                                              "style_mixing_prob": 0.0},
                                "discriminator": {"channel_base": 8192, "channel_max": 256}}),
    # Image-to-image translation: pix2pix with the authors' default networks at their 256x256
    # (facades), and CycleGAN's networks at 128x128 (their resnet_6blocks for that size), a
    # sample holding both domains; CycleGAN without its image pool (the PyTorch twin has none).
    "pix2pix256": ((256, 256, 3), {"task": "translation", "model": "pix2pix", "latent_dim": 1,
                                   "generator": {"features": 64},
                                   "discriminator": {"features": 64},
                                   "translation_terms": ({"name": "l1", "weight": 100.0},)}),
    "cyclegan128": ((2, 128, 128, 3), {"task": "translation", "model": "cyclegan",
                                       "latent_dim": 1, "loss": "least_squares",
                                       "generator": {"features": 64, "num_blocks": 6},
                                       "discriminator": {"features": 64},
                                       "translation_terms": (
                                           {"name": "cycle", "weight": 5.0},
                                           {"name": "identity", "weight": 2.5})}),
}
# The models bench/torch_models.py (bench/torch_translation.py) has a PyTorch twin of.
TORCH_TWINS = ("mlp28", "dcgan32", "dcgan64", "sngan32", "stylegan2", "pix2pix256",
               "cyclegan128")
# The batch sizes of a full comparison, where not the default ones: the translation models'
# authors train at batch 1.
BATCH_SIZES = {"pix2pix256": (1, 4), "cyclegan128": (1, 4)}


def config(name: str, *, batch_size: int, schedule: str = "alternating"
           ) -> ml_collections.ConfigDict:
  """The jaxgan config of benchmark model `name`."""
  data_shape, overrides = MODELS[name]
  cfg = default.base_config()
  cfg.image_size = data_shape[0]
  for field, value in overrides.items():
    cfg[field] = value
  cfg.batch_size = batch_size
  cfg.schedule = schedule
  return cfg


def data_spec(name: str) -> DataSpec:
  """What benchmark model `name`'s models see of its data."""
  shape, overrides = MODELS[name]
  if overrides.get("task") != "translation":
    return DataSpec(shape)
  if overrides["model"] == "pix2pix":
    return DataSpec(shape, translation="paired", source_shape=shape)
  return DataSpec(shape, translation="unpaired")


def real_batch(name: str, batch_size: int, seed: int = 1) -> np.ndarray | tuple[np.ndarray, ...]:
  """A batch of `batch_size` random samples in [-1, 1] for model `name` (NHWC): images, or a
  paired translation's `(targets, sources)`."""
  spec = data_spec(name)
  images = np.asarray(jax.random.uniform(jax.random.key(seed), (batch_size, *spec.shape),
                                         minval=-1.0))
  if spec.translation != "paired":
    return images
  sources = np.asarray(jax.random.uniform(jax.random.key(seed + 1), (batch_size, *spec.shape),
                                          minval=-1.0))
  return images, sources

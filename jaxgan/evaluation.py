"""Measuring a generator: sample in jitted batches, then compute the metrics that fit the data.

Image datasets with labels (the bundled digits, mnist, fashion_mnist, cifar10) are
measured in the features of jaxgan's own classifier (jaxgan.classifier) against the
real training split; 2-D mixtures by their modes.
"""

import functools
import os
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxgan import classifier, data, metrics
from jaxgan.state import GAN, Player, sample_latents
from jaxgan.step import generate

# The metric each kind of data is judged by, and whether higher is better.
MAIN_METRIC = {"images": ("eval/fid", "min"), "mixture": ("eval/modes", "max")}


def sample(gan: GAN, g: Player, rng: jax.Array, num: int, batch_size: int = 500) -> np.ndarray:
  """`num` samples `[num, *data_shape]` from `g`, generated in jitted batches."""
  latents = sample_latents(gan, rng, num)
  run = generate_fn(gan)
  return np.concatenate([np.asarray(run(g, latents[i:i + batch_size]))
                         for i in range(0, num, batch_size)])


@functools.lru_cache(maxsize=8)
def generate_fn(gan: GAN):
  """`generate` for `gan`, jitted once per GAN."""
  return jax.jit(functools.partial(generate, gan))


class Evaluator:
  """Holds what is fixed across evaluations of one run: the classifier and the real
  features (images), or the mixture (2-D points)."""

  def __init__(self, config: ml_collections.ConfigDict, *, cache_dir: str):
    self.config = config
    self.kind = "mixture" if config.dataset in data.MIXTURES else "images"
    self.data_shape: tuple[int, ...] = (2,)
    if self.kind == "images":
      self.classifier = classifier.load_or_train(
          config.dataset, config.image_size, cache_dir=cache_dir,
          data_dir=config.data_dir or None)
      real, _ = data.load_split(config.dataset, split="train", image_size=config.image_size,
                                data_dir=config.data_dir or None)
      self.real_features, _ = self.classifier.embed(real)
      self.data_shape = real.shape[1:]

  @property
  def main_metric(self) -> tuple[str, str]:
    return MAIN_METRIC[self.kind]

  def describe(self, num_samples: int) -> str:
    """What the numbers are measured on, to print beside them."""
    if self.kind == "mixture":
      return f"{num_samples} samples against the {self.config.dataset} modes"
    return (f"{num_samples} generated vs {len(self.real_features)} real "
            f"({self.config.dataset} train split) in the features of jaxgan's classifier "
            f"(test accuracy {self.classifier.test_accuracy:.3f})")

  def __call__(self, gan: GAN, g: Player, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray]:
    """The metrics of `num_samples` samples from `g` (prefixed `eval/`), and the samples."""
    samples = sample(gan, g, rng, num_samples)
    if self.kind == "mixture":
      centers, std = data.MIXTURES[self.config.dataset]
      results: dict[str, Any] = metrics.mode_coverage(samples, centers, std)
    else:
      features, probs = self.classifier.embed(samples)
      kid, kid_std = metrics.kernel_distance(self.real_features, features,
                                             num_subsets=20, subset_size=min(1000, num_samples))
      results = {"fid": metrics.frechet_distance(self.real_features, features),
                 "kid": kid, "kid_std": kid_std,
                 **metrics.precision_recall(self.real_features[:num_samples], features),
                 "classifier_score": metrics.classifier_score(probs),
                 **metrics.class_coverage(probs)}
    return {f"eval/{k}": float(v) for k, v in results.items()}, samples


def interpolate(gan: GAN, g: Player, rng: jax.Array, *, rows: int, cols: int) -> np.ndarray:
  """Samples `[rows * cols, ...]` along straight lines in latent space: each row goes from
  one random latent to another in `cols` steps."""
  ends = sample_latents(gan, rng, 2 * rows).reshape(2, rows, 1, gan.latent_dim)
  weights = np.linspace(0.0, 1.0, cols).reshape(1, cols, 1)
  latents = (ends[0] * (1 - weights) + ends[1] * weights).reshape(rows * cols, gan.latent_dim)
  return np.asarray(generate_fn(gan)(g, latents))


def default_cache_dir() -> str:
  """Where trained feature classifiers are kept: `$JAXGAN_CACHE` or ~/.cache/jaxgan."""
  return os.environ.get("JAXGAN_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                     "jaxgan"))

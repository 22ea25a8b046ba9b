"""Measuring a generator: sampling in jitted batches, the inputs and pictures every kind of
data shares, and the evaluator of samples in the features of a network.

What is measured depends on the kind of data (jaxgan.tasks): images and audio in the
features of a network (`FeatureEvaluator`: jaxgan's own classifier, or InceptionV3 for the
standard FID), 2-D mixtures by their modes, words by their n-grams, tables by their columns
and machine-learning efficacy. Samples of a conditional GAN are drawn for every class
equally often.
"""

import functools
import os
from typing import Any, Callable, Protocol

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import inception, layers, metrics, pictures
from jaxgan.errors import ConfigError
from jaxgan.state import GAN, Player, balanced_labels, sample_latents
from jaxgan.step import generate, generate_outputs
from jaxgan.tasks.base import Evaluator

FEATURES = ("classifier", "inception")


def check_config(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError for evaluation settings that cannot work, before training starts."""
  if config.eval_features not in FEATURES:
    raise ConfigError(f"Unknown eval_features {config.eval_features!r}. Known: "
                      f"{', '.join(FEATURES)}.")
  if config.eval_features == "inception" and not os.path.isfile(config.eval_inception_weights):
    raise ConfigError(
        f"eval_features='inception' needs pytorch-fid's InceptionV3 weights on disk; "
        f"eval_inception_weights={config.eval_inception_weights!r} is not a file. Download "
        f"{inception.WEIGHTS_URL} once and set --config.eval_inception_weights=PATH.")


def sample(gan: GAN, g: Player, rng: jax.Array, num: int, batch_size: int = 500,
           labels: jax.Array | None = None) -> tuple[np.ndarray, np.ndarray | None]:
  """`num` samples `[num, *data_shape]` from `g`, generated in jitted batches, and their
  labels `[num]` (by default every class equally often; None for an unconditional GAN)."""
  latents = sample_latents(gan, rng, num)
  labels = balanced_labels(gan, num) if labels is None else labels
  noise_rng = jax.random.fold_in(rng, 1)  # G's own noise, if it has any.
  run = generate_fn(gan)
  samples = np.concatenate([
      np.asarray(run(g, latents[i:i + batch_size],
                     None if labels is None else labels[i:i + batch_size],
                     jax.random.fold_in(noise_rng, i)))
      for i in range(0, num, batch_size)])
  return samples, None if labels is None else np.asarray(labels)


def grid_inputs(gan: GAN, rng: jax.Array, num: int) -> tuple[jax.Array, jax.Array | None]:
  """The inputs of a sample grid: `num` latents, or for a conditional GAN one row per
  class, `num // num_classes` latents repeated in every row (so each column shows one
  latent across the classes). Returns latents `[n, latent_dim]` and labels `[n]` or None."""
  if not gan.num_classes:
    return sample_latents(gan, rng, num), None
  cols = max(1, num // gan.num_classes)
  latents = jnp.tile(sample_latents(gan, rng, cols), (gan.num_classes, 1))
  return latents, jnp.repeat(jnp.arange(gan.num_classes), cols)


def grid_columns(gan: GAN, num: int) -> int | None:
  """How many samples of `grid_inputs` make a row: one class each for a conditional GAN;
  None (near-square) for an unconditional one."""
  return max(1, num // gan.num_classes) if gan.num_classes else None


def grid_samples(gan: GAN, g: Player, rng: jax.Array, num: int) -> np.ndarray:
  """G's samples for `grid_inputs(gan, rng, num)`."""
  return np.asarray(generate_fn(gan)(g, *grid_inputs(gan, rng, num)))


@functools.lru_cache(maxsize=8)
def generate_fn(gan: GAN):
  """`generate` for `gan`, jitted once per GAN."""
  return jax.jit(functools.partial(generate, gan), compiler_options=layers.compiler_options())


def interpolate(gan: GAN, g: Player, rng: jax.Array, *, rows: int, cols: int) -> np.ndarray:
  """Samples `[rows * cols, ...]` along straight lines in latent space: each row goes from
  one random latent to another in `cols` steps (for a conditional GAN, row `r` is of
  class `r % num_classes`)."""
  ends = sample_latents(gan, rng, 2 * rows).reshape(2, rows, 1, gan.latent_dim)
  weights = np.linspace(0.0, 1.0, cols).reshape(1, cols, 1)
  latents = (ends[0] * (1 - weights) + ends[1] * weights).reshape(rows * cols, gan.latent_dim)
  labels = balanced_labels(gan, rows)
  labels = None if labels is None else jnp.repeat(labels, cols)
  return np.asarray(generate_fn(gan)(g, latents, labels))


def scales_picture(gan: GAN, g: Player, rng: jax.Array, num: int = 8) -> np.ndarray | None:
  """For a multi-scale generator, `num` samples at every scale, one row per scale (smallest
  on top), each enlarged to the full size; None for a generator of one scale."""
  latents, labels = sample_latents(gan, rng, num), balanced_labels(gan, num)
  outputs = jax.jit(functools.partial(generate_outputs, gan))(g, latents, labels)
  if not isinstance(outputs, tuple):
    return None
  size = outputs[-1].shape[1]
  rows = [np.repeat(np.repeat(np.asarray(x), size // x.shape[1], 1), size // x.shape[1], 2)
          for x in outputs]
  return pictures.image_grid(np.concatenate(rows), cols=num)


class Extractor(Protocol):
  """A network whose features measure samples: `embed(samples) -> (features [n, d],
  class probabilities [n, classes])`. A classifier of the data's own classes (not
  InceptionV3) also has `num_classes`."""

  def embed(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class FeatureEvaluator(Evaluator):
  """Samples measured against real ones in the features of `extractor`.

  With InceptionV3 (`inception=True`) the Fréchet distance is the standard FID (`eval/fid`)
  and the score the Inception Score. With jaxgan's own classifier it is a Fréchet distance
  in that classifier's features (`eval/fd_classifier`), comparable between jaxgan runs on
  the same data but not with published FIDs; the classifier, trained on the data's classes,
  also gives `classifier_score`, the classes covered and, for a conditional GAN, how often
  a sample is recognised as the class asked for (`class_accuracy`). `extra(real, samples)`
  adds a kind's own metrics.
  """

  def __init__(self, extractor: Extractor, real: np.ndarray, *, description: str,
               inception: bool, extra: Callable[[np.ndarray, np.ndarray], dict] | None = None):
    self.extractor, self.real, self.inception, self.extra = extractor, real, inception, extra
    self.real_features, _ = extractor.embed(real)
    self.description = description
    self.main_metric = ("eval/fid" if inception else "eval/fd_classifier", "min")

  @property
  def totals(self) -> dict[str, int]:
    return {} if self.inception else {"eval/classes_covered": self.extractor.num_classes}

  def describe(self, num_samples: int) -> str:
    return f"{num_samples} generated vs {len(self.real_features)} real {self.description}"

  def __call__(self, gan: GAN, g: Player, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    samples, labels = sample(gan, g, rng, num_samples)
    return self.measure(samples, labels), samples, labels

  def measure(self, samples: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """The metrics (prefixed `eval/`) of `samples [n, ...]` however they were made (and, if
    conditional, the classes they were asked for)."""
    num_samples = len(samples)
    features, probs = self.extractor.embed(samples)
    kid, kid_std = metrics.kernel_distance(self.real_features, features, num_subsets=20,
                                           subset_size=min(1000, num_samples))
    results: dict[str, Any] = {
        self.main_metric[0].removeprefix("eval/"): metrics.frechet_distance(
            self.real_features, features),
        "kid": kid, "kid_std": kid_std,
        **metrics.precision_recall(self.real_features[:num_samples], features)}
    if self.inception:  # Its classes are ImageNet's, not the data's.
      results["inception_score"] = metrics.classifier_score(probs)
    else:
      results |= {"classifier_score": metrics.classifier_score(probs),
                  **metrics.class_coverage(probs)}
      if labels is not None:
        results["class_accuracy"] = np.mean(np.argmax(probs, axis=-1) == labels)
    if self.extra is not None:
      results |= self.extra(self.real, samples)
    return {f"eval/{k}": float(v) for k, v in results.items()}


def default_cache_dir() -> str:
  """Where trained feature classifiers are kept: `$JAXGAN_CACHE` or ~/.cache/jaxgan."""
  return os.environ.get("JAXGAN_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                     "jaxgan"))

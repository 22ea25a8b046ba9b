"""Measuring a generator: sample in jitted batches, then compute the metrics that fit the data.

Image datasets with labels (the bundled digits, mnist, fashion_mnist, cifar10) are
measured against the real training split in the features of jaxgan's own classifier
(jaxgan.classifier), or with `eval_features="inception"` in InceptionV3's pool
features (standard FID; jaxgan.inception, weights from disk); 2-D mixtures by their
modes; words by how many are real words, and by their character n-grams against the
held-out words (jaxgan.metrics.word_metrics); audio clips in the features of a 1-D
classifier trained once on the real clips (jaxgan.classifier.AudioNet), and by the distance
between average log-power spectra (jaxgan.metrics.spectrum_distance); table rows by their
columns' distributions and associations against the held-out rows, and by machine-learning
efficacy (a model fitted to generated rows, scored on held-out ones;
jaxgan.metrics.table_metrics). Samples of a conditional GAN are drawn for every class
equally often, and `eval/class_accuracy` says how often they are recognised as the class
asked for (by jaxgan's classifier, or the nearest mode); those of a conditional table GAN,
with conditions as often as the data have them.
"""

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from jaxgan import (audio, classifier, data, inception, layers, metrics, pictures, tabular,
                    text)
from jaxgan.errors import ConfigError
from jaxgan.state import GAN, Player, balanced_labels, sample_latents
from jaxgan.step import generate, generate_outputs

# The metric each kind of data is judged by, and whether higher is better.
MAIN_METRIC = {"images": ("eval/fid", "min"), "mixture": ("eval/modes", "max"),
               "words": ("eval/js_4", "min"), "table": ("eval/marginal", "min"),
               "audio": ("eval/fid", "min")}
# The share of a table's training rows that stands for a small real dataset, to augment.
SMALL_TABLE_FRACTION = 0.1
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
  if config.eval_features == "inception" and _kind(config.dataset) == "audio":
    raise ConfigError("InceptionV3 measures images; audio is measured in the features of "
                      "jaxgan's audio classifier: set eval_features='classifier'.")


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


def grid_picture(gan: GAN, samples: np.ndarray, dataset: data.Dataset | None = None
                 ) -> np.ndarray:
  """The picture of samples made from `grid_inputs`: images one row per class when
  conditional, else a near-square grid; 2-D points over the dataset's mode centres if it
  has them; the strings, for text; the spectrograms, for audio clips `[n, length, 1]`."""
  if dataset is not None and dataset.decode is not None:
    return pictures.text_picture(dataset.decode(samples))
  if dataset is not None and dataset.table is not None:
    table = dataset.table
    return pictures.table_picture(tabular.decode(table, samples), table.train, table.categorical)
  cols = len(samples) // gan.num_classes if gan.num_classes else None
  if samples.ndim == 3 and samples.shape[-1] == 1:
    return pictures.spectrogram_grid(samples, cols)
  if samples.ndim == 4 and gan.num_classes:
    return pictures.image_grid(samples, cols)
  return pictures.samples_picture(samples, None if dataset is None else dataset.mode_centers)


@functools.lru_cache(maxsize=8)
def generate_fn(gan: GAN):
  """`generate` for `gan`, jitted once per GAN."""
  return jax.jit(functools.partial(generate, gan), compiler_options=layers.compiler_options())


def _kind(dataset: str) -> str:
  if dataset in data.MIXTURES:
    return "mixture"
  if tabular.is_table_data(dataset):
    return "table"
  if audio.is_audio_data(dataset):
    return "audio"
  return "words" if text.is_word_data(dataset) else "images"


class Evaluator:
  """Holds what is fixed across evaluations of one run: the feature extractor and the real
  features (images, audio), the mixture (2-D points), the word list (words), or the table and
  its reference scores (tables)."""

  def __init__(self, config: ml_collections.ConfigDict, *, cache_dir: str):
    self.config = config
    self.kind = _kind(config.dataset)
    self.data_shape: tuple[int, ...] = (2,)
    self.features = config.get("eval_features", "classifier")  # Older configs lack it.
    if self.kind == "words":
      self.words = text.load(config.dataset, config.sequence_length)
      self.word_sets = set(self.words.train), set(self.words.held_out)
      self.data_shape = (config.sequence_length, len(self.words.vocabulary))
    if self.kind == "table":
      self.table = tabular.from_config(config)
      self.data_shape = (self.table.width,)
      self.small_table = self.table.train.sample(frac=SMALL_TABLE_FRACTION, random_state=0)
      self.table_references = {  # Constant: fitted to real rows.
          "efficacy_real": self._efficacy(self.table.train),
          "efficacy_small_real": self._efficacy(self.small_table)}
    if self.kind == "audio":
      clip_format = {"sample_rate": config.audio.sample_rate, "length": config.audio.length}
      self.extractor = classifier.load_or_train_audio(
          config.dataset, **clip_format, cache_dir=cache_dir, data_dir=config.data_dir or None)
      self.real_clips, _ = data.load_clips(config.dataset, split="train",
                                           data_dir=config.data_dir or None, **clip_format)
      self.real_features, _ = self.extractor.embed(self.real_clips)
      self.data_shape = self.real_clips.shape[1:]
    if self.kind == "images":
      if self.features == "inception":
        self.extractor = inception.InceptionFeatures(inception.load(
            config.eval_inception_weights))
      else:
        self.extractor = classifier.load_or_train(
            config.dataset, config.image_size, cache_dir=cache_dir,
            data_dir=config.data_dir or None)
      real, _ = data.load_split(config.dataset, split="train", image_size=config.image_size,
                                data_dir=config.data_dir or None,
                                binarized=config.get("binarized", False))
      self.real_features, _ = self.extractor.embed(real)
      self.data_shape = real.shape[1:]

  @property
  def main_metric(self) -> tuple[str, str]:
    return MAIN_METRIC[self.kind]

  @property
  def totals(self) -> dict[str, int]:
    """What the counting metrics count out of: `{"eval/modes": modes}` for a mixture,
    `{"eval/classes_covered": classes}` in the classifier's features."""
    if self.kind == "mixture":
      return {"eval/modes": len(data.MIXTURES[self.config.dataset][0])}
    if self.kind in ("images", "audio") and self.features == "classifier":
      return {"eval/classes_covered": self.extractor.num_classes}
    return {}

  def format(self, results: dict[str, float], num_samples: int) -> str:
    """`"on 2500 samples | modes 7/8 | high_quality 0.31 | ..."`: counts read as counts."""
    values = [f"{name.removeprefix('eval/')} {value:.4g}" + (
        f"/{self.totals[name]}" if name in self.totals else "") for name, value in results.items()]
    return " | ".join([f"on {num_samples} samples", *values])

  def describe(self, num_samples: int) -> str:
    """What the numbers are measured on, to print beside them."""
    if self.kind == "mixture":
      return f"{num_samples} samples against the {self.config.dataset} modes"
    if self.kind == "table":
      score = "macro F1" if self.table.target in self.table.categorical else "R^2"
      return (f"{num_samples} generated rows against the {len(self.table.test)} held-out rows "
              f"of {self.config.dataset} ({len(self.table.train)} trained on); efficacy: "
              f"{score} predicting {self.table.target!r} on the held-out rows")
    if self.kind == "words":
      return (f"{num_samples} generated strings against the {len(self.words.held_out)} "
              f"held-out words of {self.config.dataset} ({len(self.words.train)} trained on)")
    measured = (f"{num_samples} generated vs {len(self.real_features)} real "
                f"({self.config.dataset} train split)")
    if self.features == "inception":
      return (f"{measured} in InceptionV3 pool features (pytorch-fid weights from "
              f"{self.config.eval_inception_weights})")
    if self.kind == "audio":
      return (f"{measured} in the features of jaxgan's audio classifier (test accuracy "
              f"{self.extractor.test_accuracy:.3f}); spectrum_db: the RMS difference of the "
              f"average log-power spectra")
    return (f"{measured} in the features of jaxgan's classifier (test accuracy "
            f"{self.extractor.test_accuracy:.3f})")

  def __call__(self, gan: GAN, g: Player, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    """The metrics of `num_samples` samples from `g` (prefixed `eval/`), the samples, and
    their labels (None if unconditional)."""
    if self.kind == "table":
      return self._table_results(gan, g, rng, num_samples)
    samples, labels = sample(gan, g, rng, num_samples)
    predicted = None
    results: dict[str, Any]
    if self.kind == "words":
      results = metrics.word_metrics(text.decode(samples, self.words.vocabulary),
                                     *self.word_sets, max_length=self.config.sequence_length)
    elif self.kind == "mixture":
      centers, std = data.MIXTURES[self.config.dataset]
      results = metrics.mode_coverage(samples, centers, std)
      predicted = metrics.nearest_mode(samples, centers)
    else:
      features, probs = self.extractor.embed(samples)
      kid, kid_std = metrics.kernel_distance(self.real_features, features,
                                             num_subsets=20, subset_size=min(1000, num_samples))
      results = {"fid": metrics.frechet_distance(self.real_features, features),
                 "kid": kid, "kid_std": kid_std,
                 **metrics.precision_recall(self.real_features[:num_samples], features)}
      if self.features == "inception":  # Its classes are ImageNet's, not the data's.
        results["inception_score"] = metrics.classifier_score(probs)
      else:
        results |= {"classifier_score": metrics.classifier_score(probs),
                    **metrics.class_coverage(probs)}
        predicted = np.argmax(probs, axis=-1)
      if self.kind == "audio":
        results["spectrum_db"] = metrics.spectrum_distance(self.real_clips, samples)
    if labels is not None and predicted is not None:
      results["class_accuracy"] = np.mean(predicted == labels)
    return {f"eval/{k}": float(v) for k, v in results.items()}, samples, labels

  def _efficacy(self, rows: pd.DataFrame) -> float:
    return metrics.ml_efficacy(rows, self.table.test, target=self.table.target,
                               categorical=self.table.categorical)

  def _table_results(self, gan: GAN, g: Player, rng: jax.Array, num_samples: int
                     ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    """A table's metrics: distances from the held-out rows, machine-learning efficacy of
    generated rows (`efficacy`) and of the small real split with them (`augmented`),
    beside the same model fitted to the real training rows and to the small split."""
    labels = None
    if gan.num_classes:  # Conditions as often as the data have them.
      probs = tabular.condition_probs(self.table, log_frequency=False)
      labels = jax.random.choice(jax.random.fold_in(rng, 2), len(probs), (num_samples,),
                                 p=jnp.asarray(probs))
    samples, labels = sample(gan, g, rng, num_samples, labels=labels)
    return self.measure_rows(tabular.decode(self.table, samples)), samples, labels

  def measure_rows(self, rows: pd.DataFrame) -> dict[str, float]:
    """A table's metrics (prefixed `eval/`) of generated `rows`, however they were made."""
    results = metrics.table_metrics(self.table.test, rows, self.table.categorical)
    results |= {"efficacy": self._efficacy(rows),
                "augmented": self._efficacy(pd.concat([self.small_table, rows])),
                **self.table_references}
    return {f"eval/{k}": float(v) for k, v in results.items()}


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


def save_strings(path: str, strings: list[str]) -> None:
  """Generated text, one string a line."""
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(strings) + "\n")


def default_cache_dir() -> str:
  """Where trained feature classifiers are kept: `$JAXGAN_CACHE` or ~/.cache/jaxgan."""
  return os.environ.get("JAXGAN_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                     "jaxgan"))

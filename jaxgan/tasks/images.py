"""Images: tfds image datasets (the bundled digits offline; mnist, cifar10 and any other tfds
image dataset with internet), resized to `config.image_size`, held as uint8 and scaled to
[-1, 1] per batch (or thresholded to {-1, 1}: `task_kwargs.binarized`).

Measured in the features of jaxgan's digits-style classifier trained once on the real
training split (`eval/fd_classifier`), or of InceptionV3 (`eval_features="inception"`: the
standard `eval/fid`). Sample grids are PNG; an evaluation adds a latent interpolation and,
for a multi-scale generator, every scale.
"""

import functools
import os
from typing import Any

import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds

from jaxgan import (
  classifier,
  data,
  evaluation,
  inception,
  pictures,
  sklearn_digits,  # noqa: F401  (registers the tfds builder)
)
from jaxgan.errors import ConfigError
from jaxgan.tasks.base import DataSpec, Task, data_dir, task_kwargs

BUNDLED = ("sklearn_digits",)
DOWNLOADABLE = ("mnist", "fashion_mnist", "cifar10")


def builder(name: str, data_dir_: str | None) -> tfds.core.DatasetBuilder:
  """The tfds builder of image dataset `name`."""
  return data.builder(name, data_dir_, known=f"{', '.join(BUNDLED + DOWNLOADABLE)}, or "
                                            f"another tfds image dataset")


def read(name: str, *, split: str, data_dir: str | None, download: bool = False,
         with_labels: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
  """A split of image dataset `name` as uint8 `[n, h, w, c]` (and labels `[n]` if
  `with_labels`), preparing it if it is bundled or `download` allows."""
  return data.load_images(lambda: builder(name, data_dir), split=split, download=download,
                          with_labels=with_labels)


def load_split(name: str, *, split: str, image_size: int, data_dir: str | None,
               binarized: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """A prepared labelled tfds split as model inputs: float32 images `[n, size, size, c]` in
  [-1, 1] (in {-1, 1} if `binarized`) and labels `[n]`."""
  images, labels = read(name, split=split, data_dir=data_dir, with_labels=True)
  return (data.binarize if binarized else data.to_model_range)(
      data.resize_images(images, image_size)), labels


def feature_classifier(name: str, image_size: int, *, cache_dir: str,
                       data_dir: str | None = None, seed: int = 0) -> classifier.Classifier:
  """jaxgan's classifier of image dataset `name` at `image_size`, trained on its `train`
  split (accuracy on `test`) on first use and kept in `cache_dir`."""
  split = functools.partial(load_split, name, image_size=image_size, data_dir=data_dir)
  return classifier.load_or_train(
      os.path.join(cache_dir, f"{name}_{image_size}px_seed{seed}"), classifier.LeNet,
      lambda: classifier.fit(classifier.LeNet(), split(split="train"), split(split="test"),
                             name=name, seed=seed))


def training_rows(num: int, fraction: float) -> np.ndarray:
  """The rows of a split of `num` examples that training on `fraction` of it reads: the
  first `round(fraction * num)` of a fixed shuffle, the same for every seed."""
  return np.sort(np.random.default_rng(0).permutation(num)[:max(1, round(fraction * num))])


class Images(Task):
  """A tfds image dataset at `image_size` x `image_size` (see the module docstring).
  `fraction < 1` trains on that fraction of the training split (`training_rows`), for
  limited-data studies; the evaluation still measures against the whole split."""

  def __init__(self, config: ml_collections.ConfigDict, *, binarized: bool = False,
               fraction: float = 1.0):
    if not 0.0 < fraction <= 1.0:
      raise ConfigError(f"task_kwargs.fraction must be in (0, 1], got {fraction}.")
    self.config, self.binarized = config, binarized
    name, folder = config.dataset, data_dir(config)
    loaded = read(name, split="train", data_dir=folder, download=config.download,
                  with_labels=config.conditional)
    images, labels = loaded if config.conditional else (loaded, None)
    num_classes = data.num_classes(builder(name, folder)) if config.conditional else 0
    self.images = data.resize_images(images, config.image_size)  # uint8, the training split.
    rows = training_rows(len(self.images), fraction)
    self.dataset = data.array_dataset(name, self.images[rows], config.seed,
                                      None if labels is None else labels[rows], num_classes,
                                      transform=self._model_range)
    self.spec = DataSpec(self.dataset.data_shape, num_classes)

  def _model_range(self, images: np.ndarray) -> np.ndarray:
    return (data.binarize if self.binarized else data.to_model_range)(images)

  def evaluator(self, cache_dir: str) -> evaluation.FeatureEvaluator:
    config = self.config
    real = self._model_range(self.images)  # The training split, as the models see it.
    measured = f"({config.dataset} train split)"
    if config.eval_features == "inception":
      return evaluation.FeatureEvaluator(
          inception.InceptionFeatures(inception.load(config.eval_inception_weights)), real,
          description=f"{measured} in InceptionV3 pool features (pytorch-fid weights from "
                      f"{config.eval_inception_weights})", inception=True)
    extractor = feature_classifier(config.dataset, config.image_size, cache_dir=cache_dir,
                                   data_dir=data_dir(config))
    return evaluation.FeatureEvaluator(
        extractor, real, inception=False,
        description=f"{measured} in the features of jaxgan's classifier (test accuracy "
                    f"{extractor.test_accuracy:.3f})")

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    return pictures.image_grid(samples, cols)

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.png` (64 images, or 10 a class when conditional), `interpolation.png` and,
    for a multi-scale generator, `scales.png`."""
    del samples, labels
    num = 10 * gan.num_classes or 64
    grid = evaluation.grid_samples(gan, g, jax.random.key(seed + 2), num)
    pictures.save_png(os.path.join(out_dir, "samples.png"),
                      self.picture(grid, evaluation.grid_columns(gan, num)))
    interpolation = evaluation.interpolate(gan, g, jax.random.key(seed + 1), rows=8, cols=10)
    pictures.save_png(os.path.join(out_dir, "interpolation.png"),
                      pictures.image_grid(interpolation, cols=10))
    scales = evaluation.scales_picture(gan, g, jax.random.key(seed + 3))
    if scales is not None:
      pictures.save_png(os.path.join(out_dir, "scales.png"), scales)
    return {}


def build(config: ml_collections.ConfigDict) -> Images:
  """The images task of a config."""
  return Images(config, **task_kwargs(config, Images))

"""Images: a folder of image files (`config.dataset` a path; jaxgan.image_folder) or a tfds
image dataset (the bundled digits offline; mnist, cifar10 and any other with internet),
prepared once as square images of `config.image_size` (jaxgan.prepared_images) and streamed
from disk a batch at a time, scaled to [-1, 1] (or thresholded to {-1, 1}:
`task_kwargs.binarized`).

Measured in the features of jaxgan's digits-style classifier trained once on the real
training split (a folder's: by subfolder; `eval/fd_classifier`), or of InceptionV3
(`eval_features="inception"`: the standard `eval/fid`), against up to `REAL_SAMPLES` real
images. Sample grids are PNG; an evaluation adds a latent interpolation and,
for a multi-scale generator, every scale.
"""

import functools
import os
from typing import Any, Iterator

import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from jaxgan import (
  classifier,
  data,
  decoders,
  evaluation,
  image_folder,
  inception,
  pictures,
  prepared_images,
  sklearn_digits,  # noqa: F401  (registers the tfds builder)
)
from jaxgan.errors import ConfigError, NoEvaluation
from jaxgan.tasks.base import DataSpec, Task, data_dir, task_kwargs

BUNDLED = ("sklearn_digits",)
REAL_SAMPLES = 10_000  # The most real images samples are measured against.
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


def rows_per_class(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
  """The first `per_class` rows of each class (`labels [n]`) in a shuffle of `seed`."""
  order = np.random.default_rng(seed).permutation(len(labels))
  chosen = [order[labels[order] == c][:per_class] for c in np.unique(labels)]
  return np.sort(np.concatenate(chosen))


def is_folder(name: str) -> bool:
  """Whether `config.dataset` names a folder of images rather than a tfds dataset."""
  return os.sep in name or os.path.isdir(name)


def open_tfds(name: str, *, split: str, size: int, data_dir_: str | None, download: bool,
              prepared_root: str) -> prepared_images.PreparedSource:
  """A split of tfds image dataset `name` at `size` x `size` (`image_folder.square`),
  prepared for streaming in `prepared_root` on first use (the tfds dataset too, if it is
  bundled or `download` allows)."""
  examples = data.example_source(lambda: builder(name, data_dir_), split=split,
                                 download=download)
  info = examples.builder.info
  label = info.features["label"] if "label" in info.features else None
  classes = list(label.names) if isinstance(label, tfds.features.ClassLabel) else []

  def loaded(index: int, example: dict) -> prepared_images.Loaded:
    image = example["image"] if example["image"].ndim == 3 else example["image"][..., None]
    pil = Image.fromarray(image[..., 0]) if image.shape[-1] == 1 else Image.fromarray(image)
    return prepared_images.Loaded(f"{name}[{index}]", classes[example["label"]] if classes else "",
                                  np.asarray(image_folder.square(pil.convert("RGB"), size)),
                                  grey=image.shape[-1] == 1)

  def load() -> Iterator[list[prepared_images.Loaded]]:
    for start in range(0, len(examples), image_folder.CHUNK):
      indices = np.arange(start, min(start + image_folder.CHUNK, len(examples)))
      yield [loaded(i, example) for i, example in zip(indices, examples.read(indices))]

  prepared = prepared_images.prepare(
      os.path.join(prepared_root, f"{info.name}-{info.version}-{split}-{size}px"),
      f"{info.full_name}/{split}/{len(examples)}", load, total=len(examples),
      description=f"Preparing {name} ({split}) at {size}px", classes=classes)
  return prepared_images.PreparedSource(prepared, size)


class Images(Task):
  """An image dataset at `image_size` x `image_size`, streamed (see the module docstring).
  `fraction < 1` trains on that fraction of the training split (`training_rows`), and
  `per_class > 0` on that many images of each class (`rows_per_class` with
  `subset_seed`), for limited-data studies; the evaluation still measures against the
  whole split. `classes` (default: all) keeps the images of those classes alone, in
  training and in the evaluation (to pretrain on some classes and fine-tune on others).
  `mirror` doubles the training set with its left-right mirror images."""

  def __init__(self, config: ml_collections.ConfigDict, *, binarized: bool = False,
               fraction: float = 1.0, per_class: int = 0, subset_seed: int = 0,
               classes: tuple[int, ...] = (), mirror: bool = False):
    if not 0.0 < fraction <= 1.0:
      raise ConfigError(f"task_kwargs.fraction must be in (0, 1], got {fraction}.")
    if classes and config.conditional:
      raise ConfigError("task_kwargs.classes keeps some classes of the data, but a "
                        "conditional GAN draws labels of all of them; set conditional=False "
                        "or classes=().")
    self.config, self.binarized, self.classes = config, binarized, tuple(classes)
    self.source = open_source(config)
    num_classes = _num_classes(config, self.source) if config.conditional else 0
    rows = training_rows(len(self.source), fraction)
    if per_class:
      rows = rows_per_class(self.source.prepared.labels, per_class, subset_seed)
    rows = rows[self._kept(self.source.prepared.labels[rows])]
    if not len(rows):
      raise ConfigError(f"task_kwargs.classes={classes} keeps no image of {config.dataset}.")
    self.dataset = data.streamed_dataset(
        config.dataset, lambda indices: self.source.read(rows[indices]), len(rows),
        config.seed, num_classes=num_classes, mirror=mirror, transform=self._model_range)
    self.spec = DataSpec(self.dataset.data_shape, num_classes)

  @functools.cached_property
  def reference(self) -> tuple[np.ndarray, np.ndarray]:
    """Up to `REAL_SAMPLES` images of the whole training split (a fixed choice), as the
    models see them, and their labels: what samples are measured against, and what a
    folder's classifier learns from."""
    rows = training_rows(len(self.source), min(1.0, REAL_SAMPLES / len(self.source)))
    images, labels = self.source.read(rows)
    return self._model_range(images), labels

  def _kept(self, labels: np.ndarray) -> np.ndarray:
    """Which of the images of `labels` are of the kept classes."""
    return np.isin(labels, self.classes) if self.classes else np.ones(len(labels), bool)

  def _model_range(self, images: np.ndarray) -> np.ndarray:
    return (data.binarize if self.binarized else data.to_model_range)(images)

  def evaluator(self, cache_dir: str) -> evaluation.FeatureEvaluator:
    config = self.config
    real, labels = self.reference
    real = real[self._kept(labels)]
    kept = f", classes {', '.join(map(str, self.classes))}" if self.classes else ""
    measured = (f"({config.dataset}{'' if is_folder(config.dataset) else ' train split'}"
                f"{kept})")
    if config.eval_features == "inception":
      return evaluation.FeatureEvaluator(
          inception.InceptionFeatures(inception.load(config.eval_inception_weights)), real,
          description=f"{measured} in InceptionV3 pool features (pytorch-fid weights from "
                      f"{config.eval_inception_weights})", inception=True)
    extractor = self._classifier(cache_dir)
    return evaluation.FeatureEvaluator(
        extractor, real, inception=False,
        description=f"{measured} in the features of jaxgan's classifier (test accuracy "
                    f"{extractor.test_accuracy:.3f})")

  def _classifier(self, cache_dir: str) -> classifier.Classifier:
    """jaxgan's classifier of this dataset: of a tfds dataset, trained on its train split;
    of a folder, on up to `REAL_SAMPLES` of its images (a tenth held out), by subfolder."""
    config = self.config
    if not is_folder(config.dataset):
      return feature_classifier(config.dataset, config.image_size, cache_dir=cache_dir,
                                data_dir=data_dir(config))
    prepared = self.source.prepared
    if not prepared.classes:
      raise NoEvaluation(
          f"{config.dataset} has no subfolders to be its classes, so jaxgan's classifier "
          f"cannot be trained to measure samples of it: set --config.eval_features=inception "
          f"(with --config.eval_inception_weights), or --config.eval_every_steps=0.")
    images, labels = self.reference
    held_out = len(images) // 10
    return classifier.load_or_train(
        os.path.join(cache_dir, f"{os.path.basename(prepared.path)}-{prepared.fingerprint[:8]}"),
        classifier.LeNet,
        lambda: classifier.fit(classifier.LeNet(len(prepared.classes)),
                               (images[held_out:], labels[held_out:]),
                               (images[:held_out], labels[:held_out]),
                               name=config.dataset, seed=0))

  def decoder(self) -> decoders.Images:
    return decoders.Images()

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


def prepared_root(config: ml_collections.ConfigDict) -> str:
  """Where the config's image datasets are prepared for streaming."""
  return os.path.join(data_dir(config) or tfds.core.constants.DATA_DIR, "jaxgan_prepared")


def open_source(config: ml_collections.ConfigDict,
                split: str = "train") -> prepared_images.PreparedSource:
  """A split of the config's dataset (a folder of images: the whole folder; or a tfds
  dataset), prepared for streaming."""
  if is_folder(config.dataset):
    return image_folder.open_folder(config.dataset, size=config.image_size,
                                    prepared_root=prepared_root(config))
  return open_tfds(config.dataset, split=split, size=config.image_size,
                   data_dir_=data_dir(config), download=config.download,
                   prepared_root=prepared_root(config))


def _num_classes(config: ml_collections.ConfigDict,
                 source: prepared_images.PreparedSource) -> int:
  """The classes a conditional GAN is trained on: a tfds dataset's labels, a folder's
  subfolders; ConfigError if there are none."""
  if not source.prepared.classes:
    folder = is_folder(config.dataset)
    what = "has no subfolders to be its classes" if folder else "has no class labels"
    fix = ", or put each class's images in a subfolder of its own" if folder else ""
    raise ConfigError(f"{config.dataset} {what}, so it cannot train a conditional GAN; set "
                      f"conditional=False{fix}.")
  return len(source.prepared.classes)


def build(config: ml_collections.ConfigDict) -> Images:
  """The images task of a config."""
  return Images(config, **task_kwargs(config, Images))

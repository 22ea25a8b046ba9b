"""The input pipeline the kinds of data share (jaxgan.tasks): batches as a pure function of
`(seed, step)`, from arrays in memory or streamed from random-access files through Grain,
and tfds datasets read through their random-access files.

A `Dataset` gives the batch of any step as a pure function of `(seed, step)`, so a resumed
run reads exactly the batches an uninterrupted one would have. tfds datasets are read once
through tfds' random-access `data_source` (array_record files, no TensorFlow needed);
datasets whose builder is `prepared_offline` (made from what is on disk or in a package)
are prepared without download, and made again if their files are damaged.
"""

import contextlib
import functools
import importlib.util
import io
import logging
import os
import shutil
import socket
from typing import Any, Callable, Iterator

import jax
import numpy as np
import tensorflow_datasets as tfds

from jaxgan.errors import ConfigError, DataError
from jaxgan.tasks.base import Batch, Dataset

log = logging.getLogger(__name__)


# tfds' own mirror, which it tries first for every dataset it downloads.
DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def array_dataset(name: str, images: np.ndarray, seed: int, labels: np.ndarray | None = None,
                  num_classes: int = 0, *,
                  transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Dataset:
  """Batches of `transform(images[rows])` (by default uint8 `images [n, h, w, c]` scaled to
  [-1, 1]), in a fresh shuffle each epoch, with their `labels [n]` (of `num_classes` classes)
  if given."""
  return streamed_dataset(
      name, lambda indices: (images[indices], None if labels is None else labels[indices]),
      len(images), seed, num_classes=num_classes if labels is not None else 0,
      transform=transform)


def epoch_shuffle(num: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
  """`shuffled(positions) -> indices`: position `p` of an endless stream over `num`
  examples is example `shuffled(p)`, each epoch in a fresh shuffle of `(seed, epoch)`."""

  @functools.lru_cache(maxsize=2)
  def epoch_order(epoch: int) -> np.ndarray:
    return np.random.default_rng((seed, epoch)).permutation(num)

  def shuffled(positions: np.ndarray) -> np.ndarray:
    epochs, offsets = np.divmod(positions, num)
    indices = np.empty(len(positions), np.int64)
    for epoch in np.unique(epochs):
      here = epochs == epoch
      indices[here] = epoch_order(int(epoch))[offsets[here]]
    return indices

  return shuffled


def _positions(step: int, batch_size: int, rows: np.ndarray | None) -> np.ndarray:
  """The stream positions of `step`'s batch, or of those `rows` of it."""
  positions = np.arange(step * batch_size, (step + 1) * batch_size)
  return positions if rows is None else positions[rows]


def streamed_dataset(name: str, read: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                     size: int, seed: int, *, num_classes: int = 0, mirror: bool = False,
                     transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Dataset:
  """Batches of `transform(samples)` read from a random-access source of `size` samples
  (`read(indices [k]) -> (samples [k, ...], labels [k] or None)`; uint8 images
  `[k, h, w, c]` unless `transform` takes others), in a fresh shuffle
  each epoch (`epoch_shuffle`), with their labels if `num_classes`.
  `mirror` doubles a dataset of images with each mirrored left-right. Only the rows a batch
  needs are read: host memory does not grow with `size`."""
  transform = transform or to_model_range
  shuffled = epoch_shuffle(size * (2 if mirror else 1), seed)

  def batch(step: int, batch_size: int, rows: np.ndarray | None = None) -> Batch:
    indices = shuffled(_positions(step, batch_size, rows))
    images, labels = read(indices % size)
    if mirror:  # Left-right: the width axis of `[k, ..., h, w, c]`.
      mirrored = (indices >= size).reshape((-1,) + (1,) * (images.ndim - 1))
      images = np.where(mirrored, images[..., ::-1, :], images)
    images = transform(images)
    return (images, labels.astype(np.int32)) if num_classes else images

  example = transform(read(np.zeros(1, np.int64))[0])
  return Dataset(name, example.shape[1:], batch, num_classes)


def binarize(images: np.ndarray) -> np.ndarray:
  """uint8 images as float32 in {-1, 1}: 1 above mid-grey."""
  return np.where(images > 127, 1.0, -1.0).astype(np.float32)


def to_model_range(images: np.ndarray) -> np.ndarray:
  """uint8 images in [0, 255] as float32 in [-1, 1]."""
  return images.astype(np.float32) / 127.5 - 1.0


def resize_images(images: np.ndarray, size: int, chunk: int = 4096) -> np.ndarray:
  """Bilinear resize of uint8 `[n, h, w, c]` to `[n, size, size, c]`."""
  if images.shape[1:3] == (size, size):
    return images
  resize = jax.jit(lambda x: jax.image.resize(
      x.astype(np.float32), (x.shape[0], size, size, x.shape[3]), "bilinear"))
  out = [np.asarray(resize(images[i:i + chunk])) for i in range(0, len(images), chunk)]
  return np.clip(np.round(np.concatenate(out)), 0, 255).astype(np.uint8)


def builder(name: str, data_dir: str | None, *, known: str) -> tfds.core.DatasetBuilder:
  """The tfds builder of `name`, reading array_record files; an unknown name is a ConfigError
  that lists the `known` ones."""
  try:
    return tfds.builder(name, data_dir=data_dir, file_format="array_record")
  except tfds.core.registered.DatasetNotFoundError:
    raise ConfigError(f"Unknown dataset {name!r}. Known: {known}. Other kinds of data take "
                      f"--config.task (images, mixture, words, table, audio).") from None


def num_classes(builder: tfds.core.DatasetBuilder) -> int:
  """The number of classes of a tfds dataset's `label` feature; ConfigError if it has none."""
  features = builder.info.features
  label = features["label"] if "label" in features else None
  if not isinstance(label, tfds.features.ClassLabel):
    raise ConfigError(f"Dataset {builder.name!r} has no class labels, so it cannot train a "
                      f"conditional GAN; set conditional=False.")
  return label.num_classes


def check_can_download(name: str, *, timeout_s: float = 5.0) -> None:
  """Raises ConfigError within seconds if tfds cannot prepare `name` here: TensorFlow is
  not installed, or `DOWNLOAD_HOST` cannot be reached."""
  if importlib.util.find_spec("tensorflow") is None:
    raise ConfigError(
        f"Preparing {name!r} needs TensorFlow, which is not installed: run "
        f"`.venv/bin/pip install '.[datasets]'` with internet, then this command again.")
  try:
    socket.create_connection(DOWNLOAD_HOST, timeout=timeout_s).close()
  except OSError as e:
    raise ConfigError(
        f"Cannot download {name!r}: {DOWNLOAD_HOST[0]} is out of reach ({e}). Without "
        f"internet, prepare it on a machine that has it and point --config.data_dir at a "
        f"copy of that data dir.") from None


@contextlib.contextmanager
def _removed_on_failure(paths: list[str]) -> Iterator[None]:
  """Removes those of `paths` that did not exist before, if the body fails."""
  new = [path for path in paths if not os.path.exists(path)]
  try:
    yield
  except BaseException:
    for path in new:
      shutil.rmtree(path, ignore_errors=True)
    raise


def _prepare(builder: tfds.core.DatasetBuilder, *, download: bool) -> None:
  """Prepares a dataset that is not prepared yet: the bundled ones from their package,
  others by download if allowed. Whatever a failed attempt made is removed."""
  name, root = builder.name, builder.data_dir_root
  bundled = _prepared_offline(builder)
  if bundled:
    log.info("Preparing %s in %s (once).", name, os.path.join(root, name))
  elif not download:
    shown = name if builder.builder_config is None else f"{name}/{builder.builder_config.name}"
    raise ConfigError(
        f"Dataset {shown!r} is not prepared in {root}. Prepare it once with internet access: "
        f".venv/bin/pip install '.[datasets]' and run with --config.download=True (or point "
        f"--config.data_dir at a prepared copy).")
  else:
    check_can_download(name)
  quiet = contextlib.ExitStack()
  if bundled:  # A second's work: no progress bars, no "downloading" announcements.
    tfds.disable_progress_bar()
    quiet.callback(tfds.enable_progress_bar)
    quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
  with quiet, _removed_on_failure([root, os.path.join(root, name),
                                   os.path.join(root, "downloads")]):
    builder.download_and_prepare()


def _prepared_offline(builder: tfds.core.DatasetBuilder) -> bool:
  """Whether tfds makes `builder`'s dataset from what is on disk, never downloading it."""
  return getattr(builder, "prepared_offline", False)


def _read_split(builder: tfds.core.DatasetBuilder, split: str) -> list[dict]:
  """Every example of a prepared split; DamagedDatasetError naming the folder if its files
  are damaged."""
  with _damage_named(builder):
    examples = builder.as_data_source(split=split)
    return examples.__getitems__(range(len(examples)))


def _open_split(builder: tfds.core.DatasetBuilder, split: str) -> "ExampleSource":
  """A prepared split read at random, its first and last examples read to check it."""
  with _damage_named(builder):
    examples = builder.as_data_source(split=split)
    examples.__getitems__([0, len(examples) - 1])
  return ExampleSource(builder, examples)


@contextlib.contextmanager
def _damage_named(builder: tfds.core.DatasetBuilder) -> Iterator[None]:
  """Any failure to read `builder`'s prepared files as a DamagedDatasetError."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except  Any read failure means damage.
    raise DamagedDatasetError(builder.name, builder.data_dir,
                              f"{type(e).__name__}: {str(e)[:160]}") from None


class ExampleSource:
  """A prepared tfds split read at random: `len()`, and `read(indices)`, its examples as
  dicts of arrays; DamagedDatasetError if its files cannot be read."""

  def __init__(self, builder: tfds.core.DatasetBuilder, examples: Any):
    self.builder, self.examples = builder, examples

  def __len__(self) -> int:
    return len(self.examples)

  def read(self, indices: np.ndarray) -> list[dict]:
    with _damage_named(self.builder):
      return self.examples.__getitems__([int(i) for i in indices])


class DamagedDatasetError(DataError):
  """A prepared dataset whose files in `folder` cannot be read."""

  def __init__(self, name: str, folder: str, reason: str):
    self.folder = folder
    self.problem = f"The prepared files of {name!r} in {folder} cannot be read ({reason})"
    super().__init__(f"{self.problem}. Delete {folder} and prepare the dataset again "
                     f"(--config.download=True).")


def examples(make_builder: Callable[[], tfds.core.DatasetBuilder], *, split: str,
              download: bool) -> list[dict]:
  """Every example of a split of `make_builder()`'s dataset, preparing it if allowed. A
  dataset prepared offline (bundled, or from files on disk) whose prepared files are damaged
  is prepared again."""
  return _prepared(make_builder, split, download, _read_split)


def example_source(make_builder: Callable[[], tfds.core.DatasetBuilder], *, split: str,
                   download: bool) -> ExampleSource:
  """A split of `make_builder()`'s dataset read at random (`examples` without reading it
  all), preparing it as `examples` does."""
  return _prepared(make_builder, split, download, _open_split)


def _prepared(make_builder: Callable[[], tfds.core.DatasetBuilder], split: str, download: bool,
              read: Callable[[tfds.core.DatasetBuilder, str], Any]) -> Any:
  """`read(builder, split)` of the dataset, prepared if allowed, and prepared again if it
  is made offline and its files are damaged."""
  builder = make_builder()
  if not builder.is_prepared():
    _prepare(builder, download=download)
  if split not in builder.info.splits:
    raise ConfigError(f"Dataset {builder.name!r} has no split {split!r}; it has "
                      f"{', '.join(builder.info.splits)}.")
  try:
    return read(builder, split)
  except DamagedDatasetError as e:
    if not _prepared_offline(builder):
      raise
    log.warning("%s; preparing it again.", e.problem)
    shutil.rmtree(e.folder)
    builder = make_builder()
    _prepare(builder, download=False)
    return read(builder, split)


def load_images(make_builder: Callable[[], tfds.core.DatasetBuilder], *, split: str,
                download: bool, with_labels: bool = False
                ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
  """The `image` feature of a tfds split as uint8 `[n, h, w, c]` (and the `label`
  feature `[n]` if `with_labels`), preparing the dataset if allowed."""
  loaded = examples(make_builder, split=split, download=download)
  images = np.stack([example["image"] for example in loaded])
  images = images if images.ndim == 4 else images[..., None]
  if with_labels:
    return images, np.array([example["label"] for example in loaded])
  return images

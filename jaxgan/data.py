"""Input data: image and audio datasets through tensorflow-datasets (audio: jaxgan.audio),
2-D Gaussian mixtures, words (jaxgan.text) and tables (jaxgan.tabular).

A `Dataset` gives the batch of any step as a pure function of `(seed, step)`, so
a resumed run reads exactly the batches an uninterrupted one would have.
Image datasets are read once through tfds' random-access `data_source`
(array_record files, no TensorFlow needed), resized to the model's size, and held
in memory as uint8; batches are scaled to [-1, 1] (or thresholded to {-1, 1} when
binarised). Audio clips are held as float32 `[n, length, 1]` in [-1, 1] at the config's
sample rate. Words are batches of one-hot characters `[batch, length, vocabulary]`;
tables, of encoded rows `[batch, width]`, drawn by training-by-sampling when conditional.
"""

import contextlib
import functools
import importlib.util
import io
import logging
import os
import shutil
import socket
from typing import Callable, Iterator, NamedTuple

import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds

from jaxgan import sklearn_digits  # noqa: F401  (registers the tfds builder)
from jaxgan import audio, tabular, text
from jaxgan.errors import ConfigError

log = logging.getLogger(__name__)

# Samples `[batch, *data_shape]`, or `(samples, labels [batch])` from a labelled dataset.
Batch = np.ndarray | tuple[np.ndarray, np.ndarray]


class Dataset(NamedTuple):
  """`batch(step, batch_size) -> [batch_size, *data_shape]` float32, deterministic in step;
  with `num_classes > 0`, `(samples, int32 labels [batch_size])`. `batch(step, batch_size,
  rows)` reads only those rows of that batch (a process's share). A mixture has its
  `mode_centers [modes, d]`; text has `decode(samples) -> strings`; a table, its `table`
  (jaxgan.tabular), which decodes rows; audio, its `sample_rate` (Hz)."""
  name: str
  data_shape: tuple[int, ...]
  batch: Callable[..., Batch]
  num_classes: int = 0
  mode_centers: np.ndarray | None = None
  decode: Callable[[np.ndarray], list[str]] | None = None
  table: tabular.Table | None = None
  sample_rate: int = 0


def _mixture(centers: np.ndarray, std: float) -> tuple[np.ndarray, float]:
  return centers.astype(np.float32), std


# The mode-collapse benchmarks of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).
MIXTURES: dict[str, tuple[np.ndarray, float]] = {
    "ring8": _mixture(2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4),
                                      np.sin(np.arange(8) * np.pi / 4)], axis=1), 0.02),
    "grid25": _mixture(np.stack(np.meshgrid(np.arange(-4, 5, 2), np.arange(-4, 5, 2)),
                                axis=-1).reshape(-1, 2), 0.05),
}
BUNDLED_IMAGES = ("sklearn_digits",)
# Datasets tfds prepares from what is on disk, never downloaded: made again if damaged.
LOCAL = (*BUNDLED_IMAGES, audio.SPOKEN_DIGITS, "wav_folder")
DOWNLOADABLE_IMAGES = ("mnist", "fashion_mnist", "cifar10")
# tfds' own mirror, which it tries first for every dataset it downloads.
DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def mixture_dataset(name: str, seed: int, *, with_labels: bool = False) -> Dataset:
  """Points from the 2-D Gaussian mixture `name`, each step's batch drawn from `(seed, step)`;
  `with_labels`: labelled by their mode."""
  centers, std = MIXTURES[name]

  def batch(step: int, batch_size: int, rows: np.ndarray | None = None) -> Batch:
    rng = np.random.default_rng((seed, step))
    modes = rng.integers(len(centers), size=batch_size)
    points = centers[modes] + std * rng.standard_normal((batch_size, 2), dtype=np.float32)
    if rows is not None:
      points, modes = points[rows], modes[rows]
    return (points, modes.astype(np.int32)) if with_labels else points

  return Dataset(name, (2,), batch, len(centers) if with_labels else 0, centers)


def array_dataset(name: str, images: np.ndarray, seed: int, labels: np.ndarray | None = None,
                  num_classes: int = 0, *,
                  transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Dataset:
  """Batches of `transform(images[rows])` (by default uint8 `images [n, h, w, c]` scaled to
  [-1, 1]), in a fresh shuffle each epoch, with their `labels [n]` (of `num_classes` classes)
  if given."""
  transform = transform or to_model_range
  num = len(images)

  @functools.lru_cache(maxsize=2)
  def epoch_order(epoch: int) -> np.ndarray:
    return np.random.default_rng((seed, epoch)).permutation(num)

  def batch(step: int, batch_size: int, rows: np.ndarray | None = None) -> Batch:
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, offsets = np.divmod(positions, num)
    indices = np.empty(batch_size, np.int64)
    for epoch in np.unique(epochs):
      here = epochs == epoch
      indices[here] = epoch_order(int(epoch))[offsets[here]]
    if rows is not None:
      indices = indices[rows]
    if labels is None:
      return transform(images[indices])
    return transform(images[indices]), labels[indices].astype(np.int32)

  example = transform(images[:1])
  return Dataset(name, example.shape[1:], batch, num_classes if labels is not None else 0)


def binarize(images: np.ndarray) -> np.ndarray:
  """uint8 images as float32 in {-1, 1}: 1 above mid-grey."""
  return np.where(images > 127, 1.0, -1.0).astype(np.float32)


def words_dataset(name: str, seed: int, sequence_length: int) -> Dataset:
  """The training strings of word list `name` (jaxgan.text) as one-hot sequences
  `[sequence_length, vocabulary]`, with their `decode`."""
  words = text.load(name, sequence_length)
  size = len(words.vocabulary)
  dataset = array_dataset(name, text.encode(words.train, words.vocabulary, sequence_length),
                          seed, transform=lambda tokens: text.one_hot(tokens, size))
  return dataset._replace(decode=lambda samples: text.decode(samples, words.vocabulary))


def table_dataset(table: tabular.Table, seed: int, *, conditional: bool = False) -> Dataset:
  """The encoded training rows of `table`; `conditional`: with their conditions, drawn by
  training-by-sampling (jaxgan.tabular), each step's batch from `(seed, step)`."""
  rows = tabular.encode(table, table.train, seed=seed)
  if not conditional:
    return array_dataset(table.name, rows, seed, transform=lambda x: x)._replace(table=table)
  probs = tabular.condition_probs(table, log_frequency=True)
  conditions = tabular.condition_ids(table, table.train)  # [n, categorical columns]
  # The rows of each condition, contiguous: condition c's are members[starts[c]:][:counts[c]].
  members = np.argsort(conditions, axis=0, kind="stable").T.reshape(-1)
  counts = np.bincount(conditions.reshape(-1), minlength=table.num_conditions)
  starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

  def batch(step: int, batch_size: int, picked: np.ndarray | None = None) -> Batch:
    rng = np.random.default_rng((seed, step))
    labels = rng.choice(table.num_conditions, size=batch_size, p=probs)
    indices = members[starts[labels] + (rng.random(batch_size) * counts[labels]).astype(int)]
    if picked is not None:
      indices, labels = indices[picked], labels[picked]
    return rows[indices], labels.astype(np.int32)

  return Dataset(table.name, rows.shape[1:], batch, table.num_conditions, table=table)


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


def _builder(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
  """The tfds builder of `name`, reading array_record files."""
  try:
    return tfds.builder(name, data_dir=data_dir, file_format="array_record")
  except tfds.core.registered.DatasetNotFoundError:
    raise ConfigError(
        f"Unknown dataset {name!r}. Known: {', '.join(BUNDLED_IMAGES + DOWNLOADABLE_IMAGES)}, "
        f"{', '.join(MIXTURES)}, {text.ENGLISH_WORDS} or a word list PATH.txt, a table "
        f"{tabular.STATSMODELS}NAME or PATH.csv, audio {audio.SPOKEN_DIGITS} or a folder of "
        f"WAV files, or another tfds image dataset.") from None


def num_classes(name: str, data_dir: str | None = None) -> int:
  """The number of classes of a dataset's `label` feature (of modes, for a 2-D mixture)."""
  if name in MIXTURES:
    return len(MIXTURES[name][0])
  if text.is_word_data(name):
    raise ConfigError(f"Word list {name!r} has no class labels, so it cannot train a "
                      f"conditional GAN; set conditional=False.")
  if os.path.isdir(name):  # A folder of audio files: its subfolders are the classes.
    classes = audio.audio_files(name)[1]
    if not classes:
      raise ConfigError(f"The audio files in {name} are not in subfolders, so they have no "
                        f"class labels and cannot train a conditional GAN; set "
                        f"conditional=False, or put each class's files in a subfolder.")
    return len(classes)
  features = _builder(name, data_dir).info.features
  label = features["label"] if "label" in features else None
  if not isinstance(label, tfds.features.ClassLabel):
    raise ConfigError(f"Dataset {name!r} has no class labels, so it cannot train a conditional "
                      f"GAN; set conditional=False.")
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
  bundled = name in LOCAL
  if bundled:
    log.info("Preparing %s in %s (once).", name, os.path.join(root, name))
  elif not download:
    raise ConfigError(
        f"Dataset {name!r} is not prepared in {root}. Prepare it once with internet access: "
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


def _read_split(builder: tfds.core.DatasetBuilder, split: str) -> list[dict]:
  """Every example of a prepared split; ConfigError naming the folder if its files are damaged."""
  try:
    examples = builder.as_data_source(split=split)
    return examples.__getitems__(range(len(examples)))
  except Exception as e:  # pylint: disable=broad-except  Any read failure means damage.
    raise DamagedDatasetError(builder.name, builder.data_dir,
                              f"{type(e).__name__}: {str(e)[:160]}") from None


class DamagedDatasetError(ConfigError):
  """A prepared dataset whose files in `folder` cannot be read."""

  def __init__(self, name: str, folder: str, reason: str):
    self.folder = folder
    self.problem = f"The prepared files of {name!r} in {folder} cannot be read ({reason})"
    super().__init__(f"{self.problem}. Delete {folder} and prepare the dataset again "
                     f"(--config.download=True).")


def _examples(make_builder: Callable[[], tfds.core.DatasetBuilder], *, split: str,
              download: bool) -> list[dict]:
  """Every example of a split of `make_builder()`'s dataset, preparing it if allowed. A local
  dataset (bundled, or from files on disk) whose prepared files are damaged is prepared
  again."""
  builder = make_builder()
  if not builder.is_prepared():
    _prepare(builder, download=download)
  if split not in builder.info.splits:
    raise ConfigError(f"Dataset {builder.name!r} has no split {split!r}; it has "
                      f"{', '.join(builder.info.splits)}.")
  try:
    return _read_split(builder, split)
  except DamagedDatasetError as e:
    if builder.name not in LOCAL:
      raise
    log.warning("%s; preparing it again.", e.problem)
    shutil.rmtree(e.folder)
    builder = make_builder()
    _prepare(builder, download=False)
    return _read_split(builder, split)


def load_images(name: str, *, split: str, data_dir: str | None, download: bool,
                with_labels: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
  """The `image` feature of a tfds split as uint8 `[n, h, w, c]` (and the `label`
  feature `[n]` if `with_labels`), preparing the dataset if allowed."""
  examples = _examples(lambda: _builder(name, data_dir), split=split, download=download)
  images = np.stack([example["image"] for example in examples])
  images = images if images.ndim == 4 else images[..., None]
  if with_labels:
    return images, np.array([example["label"] for example in examples])
  return images


def load_clips(name: str, *, split: str, sample_rate: int, length: int,
               data_dir: str | None) -> tuple[np.ndarray, np.ndarray | None]:
  """An audio dataset's split (jaxgan.audio: `spoken_digits`, or a folder of audio files)
  as float32 clips `[n, length, 1]` in [-1, 1] at `sample_rate` Hz, cut or padded at the
  end, and their labels `[n]` (None for files that are not in subfolders)."""
  if os.path.isdir(name):  # Stored at the rate asked for.
    make_builder = lambda: audio.folder_builder(name, sample_rate, data_dir)  # noqa: E731
    rate = sample_rate
  else:
    make_builder = lambda: _builder(name, data_dir)  # noqa: E731
    rate = audio.STORED_RATE
  examples = _examples(make_builder, split=split, download=False)
  clips = audio.fit_length([audio.resample(example["audio"] / np.float32(32768), rate,
                                           sample_rate) for example in examples], length)
  labels = np.array([example["label"] for example in examples]) if (
      examples and "label" in examples[0]) else None
  return np.clip(clips, -1.0, 1.0).astype(np.float32)[..., None], labels


def load_split(name: str, *, split: str, image_size: int, data_dir: str | None,
               binarized: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """A prepared labelled tfds split as model inputs: float32 images `[n, size, size, c]` in
  [-1, 1] (in {-1, 1} if `binarized`) and labels `[n]`."""
  images, labels = load_images(name, split=split, data_dir=data_dir, download=False,
                               with_labels=True)
  return (binarize if binarized else to_model_range)(resize_images(images, image_size)), labels


def get(name: str, *, seed: int, image_size: int, split: str = "train",
        data_dir: str | None = None, download: bool = False, with_labels: bool = False,
        binarized: bool = False, sequence_length: int = 0,
        sample_rate: int = audio.STORED_RATE, clip_length: int = 16384) -> Dataset:
  """The dataset `name`: a 2-D mixture (`ring8`, `grid25`), a word list (jaxgan.text) as
  sequences of `sequence_length` characters, a table (jaxgan.tabular, column kinds
  inferred), audio (jaxgan.audio) as clips of `clip_length` samples at `sample_rate` Hz, or
  a tfds image dataset resized to `image_size` (and `binarized` to {-1, 1} if asked);
  `with_labels` for batches of `(samples, labels)`."""
  if name in MIXTURES:
    return mixture_dataset(name, seed, with_labels=with_labels)
  if tabular.is_table_data(name):
    return table_dataset(tabular.load(name, seed=seed), seed, conditional=with_labels)
  classes = num_classes(name, data_dir) if with_labels else 0  # Words have none: raises.
  if text.is_word_data(name):
    return words_dataset(name, seed, sequence_length)
  if audio.is_audio_data(name):
    clips, labels = load_clips(name, split=split, sample_rate=sample_rate, length=clip_length,
                               data_dir=data_dir)
    return array_dataset(name, clips, seed, labels if with_labels else None, classes,
                         transform=lambda x: x)._replace(sample_rate=sample_rate)
  loaded = load_images(name, split=split, data_dir=data_dir, download=download,
                       with_labels=with_labels)
  images, labels = loaded if with_labels else (loaded, None)
  return array_dataset(name, resize_images(images, image_size), seed, labels, classes,
                       transform=binarize if binarized else None)


def from_config(config: ml_collections.ConfigDict) -> Dataset:
  """The training data a config names (fields absent from older configs take their
  defaults)."""
  if tabular.is_table_data(config.dataset):
    return table_dataset(tabular.from_config(config), config.seed,
                         conditional=config.conditional)
  return get(config.dataset, seed=config.seed, image_size=config.image_size,
             data_dir=config.data_dir or None, download=config.download,
             with_labels=config.conditional, binarized=config.get("binarized", False),
             sequence_length=config.get("sequence_length", 0),
             **({"sample_rate": config.audio.sample_rate, "clip_length": config.audio.length}
                if "audio" in config else {}))


def conditions(config: ml_collections.ConfigDict) -> tuple[int, tuple[float, ...] | None]:
  """A conditional GAN's number of classes on the config's data, and the probabilities
  training draws its fake ones with (None: uniform; a table's training-by-sampling)."""
  if tabular.is_table_data(config.dataset):
    table = tabular.from_config(config)
    return table.num_conditions, tuple(tabular.condition_probs(table, log_frequency=True))
  return num_classes(config.dataset, config.data_dir or None), None


def batches(dataset: Dataset, batch_size: int, start_step: int = 0,
            rows: np.ndarray | None = None) -> Iterator[Batch]:
  """The endless stream of batches from `start_step` on (only `rows` of each, if given)."""
  step = start_step
  while True:
    yield dataset.batch(step, batch_size, rows)
    step += 1

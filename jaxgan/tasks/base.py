"""What every kind of data provides to training and evaluation (`Task`, `Evaluator`), and
what the models need to know of it (`DataSpec`).

This module imports jax, numpy and ml_collections only: a kind's own dependencies (tfds,
pandas, soundfile, ...) load in its own module, when a config names it.
"""

import abc
from typing import Any, Callable, NamedTuple

import jax
import ml_collections
import numpy as np

from jaxgan import decoders
from jaxgan.errors import ConfigError, check_kwargs

# Samples `[batch, *data_shape]`, or `(samples, labels [batch])` from a labelled dataset.
Batch = np.ndarray | tuple[np.ndarray, np.ndarray]


class DataSpec(NamedTuple):
  """What the models need to know of the data: the shape of one sample; for a conditional
  GAN the number of classes (0: unconditional) and the probabilities fake labels are drawn
  with (None: uniform); arguments the generator takes from the data (a table's row
  layout); and for image-to-image translation, `"paired"` (batches of `(targets,
  sources)`, one source of `source_shape`) or `"unpaired"` (samples of both domains,
  `[2, *image_shape]`); `""` for generation."""
  shape: tuple[int, ...]
  num_classes: int = 0
  label_probs: tuple[float, ...] | None = None
  generator_kwargs: tuple[tuple[str, Any], ...] = ()
  translation: str = ""
  source_shape: tuple[int, ...] = ()


class Dataset(NamedTuple):
  """`batch(step, batch_size) -> [batch_size, *data_shape]` float32, deterministic in step;
  labelled (`num_classes > 0`): `(samples, int32 labels [batch_size])`. `batch(step,
  batch_size, rows)` reads only those rows of that batch (a process's share)."""
  name: str
  data_shape: tuple[int, ...]
  batch: Callable[..., Batch]
  num_classes: int = 0


class Evaluator(abc.ABC):
  """Measures samples of a generator against one kind of data. `main_metric` is
  `(name, "min" or "max")`: the metric the best checkpoint is chosen by."""
  main_metric: tuple[str, str]

  @abc.abstractmethod
  def __call__(self, gan: Any, g: Any, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    """The metrics of `num_samples` samples from `g` (prefixed `eval/`), the samples, and
    their labels (None if unconditional)."""

  @abc.abstractmethod
  def describe(self, num_samples: int) -> str:
    """What the numbers are measured on, to print beside them."""

  @property
  def totals(self) -> dict[str, int]:
    """What counting metrics count out of, e.g. `{"eval/modes": 8}`."""
    return {}

  def _shown(self, name: str, value: float) -> str:
    """`value` as printed: a count with what it counts out of (`7/8`)."""
    return f"{value:.4g}" + (f"/{self.totals[name]}" if name in self.totals else "")

  def format(self, results: dict[str, float], num_samples: int) -> str:
    """`"on 2500 samples | modes 7/8 | high_quality 0.31 | ..."`: counts read as counts."""
    values = [f"{name.removeprefix('eval/')} {self._shown(name, value)}"
              for name, value in results.items()]
    return " | ".join([f"on {num_samples} samples", *values])

  def markdown(self, results: dict[str, float]) -> str:
    """The metrics as a Markdown table."""
    rows = [f"| {name.removeprefix('eval/')} | {self._shown(name, value)} |"
            for name, value in results.items()]
    return "\n".join(["| metric | value |", "|---|---|", *rows])


class Task(abc.ABC):
  """One kind of data: its dataset, what the models need to know of it, how samples are
  measured, written and drawn. Built from a config by the kind's `build(config)`."""
  dataset: Dataset
  spec: DataSpec

  @abc.abstractmethod
  def evaluator(self, cache_dir: str) -> Evaluator:
    """The evaluator of samples against this data (feature extractors kept in `cache_dir`)."""

  @abc.abstractmethod
  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    """A uint8 picture `[h, w, c]` of samples from `grid_inputs` (`cols` a row: one row per
    class when conditional; None: the kind's own layout)."""

  def grid_inputs(self, gan: Any, rng: jax.Array, num: int) -> tuple[jax.Array, Any]:
    """The fixed inputs of the sample grids drawn in training: `(latents, labels)` from
    `rng` (jaxgan.evaluation.grid_inputs), or a kind's own (translation: held-out sources)."""
    from jaxgan import evaluation  # The step's modules load only when training.
    return evaluation.grid_inputs(gan, rng, num)

  def decoder(self) -> decoders.Decoder:
    """How a trained generator's outputs are decoded and written without this task."""
    return decoders.Decoder()

  def write_samples(self, path: str, samples: np.ndarray) -> list[str]:
    """Writes the samples in the kind's own file format beside `path + ".png"` (strings,
    rows, sound), returns the paths written; none for kinds whose picture says it all."""
    del path, samples
    return []

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Writes the files of an evaluation to `out_dir` (pictures, samples in the kind's
    formats); returns what `metrics.json` holds besides the metrics."""
    del out_dir, gan, g, samples, labels, seed
    return {}

  def report(self, extras: dict[str, Any]) -> str:
    """The tables printed after the metrics for `write_evaluation`'s `extras`."""
    del extras
    return ""


def task_kwargs(config: ml_collections.ConfigDict, fn: Callable[..., Any]) -> dict[str, Any]:
  """`config.task_kwargs` as keyword arguments of `fn`, every name checked (did you mean)."""
  kwargs = config.task_kwargs.to_dict()
  check_kwargs(fn, kwargs, f"Task {config.task!r} (config.task_kwargs)")
  return kwargs


def no_labels(config: ml_collections.ConfigDict, what: str) -> None:
  """Raises ConfigError for a conditional config on data without labels (`what`)."""
  if config.conditional:
    raise ConfigError(f"{what} has no class labels, so it cannot train a conditional GAN; "
                      f"set conditional=False.")


def data_dir(config: ml_collections.ConfigDict) -> str | None:
  """The tfds data dir of a config: None for tfds' default."""
  return config.data_dir or None

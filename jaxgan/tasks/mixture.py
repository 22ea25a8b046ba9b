"""2-D Gaussian mixtures, the mode-collapse benchmarks of VEEGAN (Srivastava et al. 2017)
and PacGAN (Lin et al. 2018): `ring8` and `grid25`, each batch drawn from `(seed, step)`,
labelled by their mode when conditional.

Measured by mode coverage (modes with enough high-quality samples, the high-quality
fraction, reverse KL; jaxgan.metrics.mode_coverage); drawn as points over the mode centres.
"""

import os
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxgan import evaluation, metrics, pictures
from jaxgan.errors import ConfigError
from jaxgan.tasks.base import Batch, Dataset, DataSpec, Evaluator, Task, task_kwargs


def _mixture(centers: np.ndarray, std: float) -> tuple[np.ndarray, float]:
  return centers.astype(np.float32), std


# Mode centres `[modes, 2]` and the standard deviation of each mode.
MIXTURES: dict[str, tuple[np.ndarray, float]] = {
    "ring8": _mixture(2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4),
                                      np.sin(np.arange(8) * np.pi / 4)], axis=1), 0.02),
    "grid25": _mixture(np.stack(np.meshgrid(np.arange(-4, 5, 2), np.arange(-4, 5, 2)),
                                axis=-1).reshape(-1, 2), 0.05),
}


def mixture_dataset(name: str, seed: int, *, with_labels: bool = False) -> Dataset:
  """Points `[batch, 2]` from the mixture `name`, each step's batch drawn from `(seed,
  step)`; `with_labels`: labelled by their mode."""
  if name not in MIXTURES:
    raise ConfigError(f"Unknown mixture {name!r}. Known: {', '.join(MIXTURES)}.")
  centers, std = MIXTURES[name]

  def batch(step: int, batch_size: int, rows: np.ndarray | None = None) -> Batch:
    rng = np.random.default_rng((seed, step))
    modes = rng.integers(len(centers), size=batch_size)
    points = centers[modes] + std * rng.standard_normal((batch_size, 2), dtype=np.float32)
    if rows is not None:
      points, modes = points[rows], modes[rows]
    return (points, modes.astype(np.int32)) if with_labels else points

  return Dataset(name, (2,), batch, len(centers) if with_labels else 0)


class ModeEvaluator(Evaluator):
  """Mode coverage of 2-D samples; for a conditional GAN also `class_accuracy`, how often a
  sample's nearest mode is the one asked for."""
  main_metric = ("eval/modes", "max")

  def __init__(self, name: str):
    self.name = name
    self.centers, self.std = MIXTURES[name]

  @property
  def totals(self) -> dict[str, int]:
    return {"eval/modes": len(self.centers)}

  def describe(self, num_samples: int) -> str:
    return f"{num_samples} samples against the {self.name} modes"

  def __call__(self, gan: Any, g: Any, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    samples, labels = evaluation.sample(gan, g, rng, num_samples)
    results = metrics.mode_coverage(samples, self.centers, self.std)
    if labels is not None:
      results["class_accuracy"] = np.mean(metrics.nearest_mode(samples, self.centers) == labels)
    return {f"eval/{k}": float(v) for k, v in results.items()}, samples, labels


class Mixture(Task):
  """The 2-D mixture `config.dataset` (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict):
    self.name = config.dataset
    self.dataset = mixture_dataset(self.name, config.seed, with_labels=config.conditional)
    self.spec = DataSpec((2,), self.dataset.num_classes)

  def evaluator(self, cache_dir: str) -> ModeEvaluator:
    del cache_dir
    return ModeEvaluator(self.name)

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    del cols
    return pictures.scatter_picture(samples, MIXTURES[self.name][0])

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.png`: the samples over as many real points and the mode centres."""
    del gan, g, labels
    real = mixture_dataset(self.name, seed).batch(0, len(samples))
    pictures.save_png(os.path.join(out_dir, "samples.png"), pictures.scatter_picture(
        samples, MIXTURES[self.name][0], real=real))
    return {}


def build(config: ml_collections.ConfigDict) -> Mixture:
  """The mixture task of a config."""
  return Mixture(config, **task_kwargs(config, Mixture))

"""Tables: a CSV file or a table statsmodels ships (`statsmodels:NAME`), its columns encoded
as CTGAN does (jaxgan.tabular); conditional training draws rows by training-by-sampling.

`task_kwargs`: the columns of each kind (`categorical_columns`, `continuous_columns`;
others inferred), the column machine-learning efficacy predicts (`target`, "" for the last),
a file of held-out rows (`test_file`, "" for a fifth of the table), and the encoding of
continuous columns (`continuous_transform`, `max_modes`).

Measured by the columns' distributions and associations against the held-out rows, and by
machine-learning efficacy (jaxgan.table_metrics); written as CSV.
"""

import logging
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from jaxgan import data, decoders, evaluation, pictures, table_metrics, tabular
from jaxgan.tasks.base import Batch, Dataset, DataSpec, Evaluator, Task, task_kwargs

log = logging.getLogger(__name__)

# The share of a table's training rows that stands for a small real dataset, to augment.
SMALL_TABLE_FRACTION = 0.1


def table_dataset(table: tabular.Table, seed: int, *, conditional: bool = False) -> Dataset:
  """The encoded training rows of `table`; `conditional`: with their conditions, drawn by
  training-by-sampling (jaxgan.tabular), each step's batch from `(seed, step)`."""
  rows = tabular.encode(table, table.train, seed=seed)
  if not conditional:
    return data.array_dataset(table.name, rows, seed, transform=lambda x: x)
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

  return Dataset(table.name, rows.shape[1:], batch, table.num_conditions)


def table_picture(fake: pd.DataFrame, real: pd.DataFrame, categorical: list[str],
                  cols: int = 4) -> np.ndarray:
  """One panel per column of generated rows `fake` over `real` ones: the frequency of
  each category, or a histogram on shared bins."""
  plt = pictures.pyplot()
  rows = math.ceil(len(real.columns) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows), squeeze=False)
  for ax in axes.ravel()[len(real.columns):]:
    ax.axis("off")
  for ax, name in zip(axes.ravel(), real.columns):
    if name in categorical:
      frequencies = pd.DataFrame({"real": real[name].value_counts(normalize=True),
                                  "generated": fake[name].value_counts(normalize=True)})
      frequencies.fillna(0.0).sort_index().plot.bar(ax=ax, legend=False, width=0.8,
                                                    color=["tab:blue", "tab:orange"])
    else:
      bins = np.histogram_bin_edges(real[name].to_numpy(np.float64), bins=30)
      ax.hist(real[name], bins=bins, density=True, alpha=0.5, color="tab:blue")
      ax.hist(np.clip(fake[name], bins[0], bins[-1]), bins=bins, density=True, alpha=0.5,
              color="tab:orange")
    ax.set_title(str(name), fontsize=9)
    ax.set_xlabel("")
    ax.tick_params(labelsize=6)
  axes.ravel()[0].legend(["real", "generated"], fontsize=7)
  return pictures.canvas_picture(fig)


class TableEvaluator(Evaluator):
  """Generated rows against the held-out rows: distances of the columns and of their
  associations (`eval/marginal`, ...), and machine-learning efficacy of the generated rows
  (`efficacy`) and of a small real split with them (`augmented`), beside the same model
  fitted to the real training rows and to the small split (fitted on first use)."""
  main_metric = ("eval/marginal", "min")

  def __init__(self, table: tabular.Table):
    self.table = table
    self.small_table = table.train.sample(frac=SMALL_TABLE_FRACTION, random_state=0)
    self._references: dict[str, float] | None = None

  @property
  def references(self) -> dict[str, float]:
    """The efficacy of the real training rows and of the small split (constant)."""
    if self._references is None:
      log.info("Fitting the machine-learning-efficacy references on %d and %d real rows "
               "(once).", len(self.table.train), len(self.small_table))
      self._references = {"efficacy_real": self._efficacy(self.table.train),
                          "efficacy_small_real": self._efficacy(self.small_table)}
    return self._references

  def describe(self, num_samples: int) -> str:
    score = "macro F1" if self.table.target in self.table.categorical else "R^2"
    return (f"{num_samples} generated rows against the {len(self.table.test)} held-out rows "
            f"of {self.table.name} ({len(self.table.train)} trained on); efficacy: "
            f"{score} predicting {self.table.target!r} on the held-out rows")

  def _efficacy(self, rows: pd.DataFrame) -> float:
    return table_metrics.ml_efficacy(rows, self.table.test, target=self.table.target,
                                     categorical=self.table.categorical)

  def __call__(self, gan: Any, g: Any, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    labels = None
    if gan.num_classes:  # Conditions as often as the data have them.
      probs = tabular.condition_probs(self.table, log_frequency=False)
      labels = jax.random.choice(jax.random.fold_in(rng, 2), len(probs), (num_samples,),
                                 p=jnp.asarray(probs))
    samples, labels = evaluation.sample(gan, g, rng, num_samples, labels=labels)
    return self.measure_rows(tabular.decode(self.table, samples)), samples, labels

  def measure_rows(self, rows: pd.DataFrame) -> dict[str, float]:
    """The metrics (prefixed `eval/`) of generated `rows`, however they were made."""
    results = table_metrics.table_metrics(self.table.test, rows, self.table.categorical)
    results |= {"efficacy": self._efficacy(rows),
                "augmented": self._efficacy(pd.concat([self.small_table, rows])),
                **self.references}
    return {f"eval/{k}": float(v) for k, v in results.items()}


class Table(Task):
  """The table `config.dataset` (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict, *,
               categorical_columns: tuple[str, ...] = (),
               continuous_columns: tuple[str, ...] = (), target: str = "", test_file: str = "",
               continuous_transform: str = "mode_specific", max_modes: int = 10):
    self.table = tabular.load(
        config.dataset, categorical_columns=tuple(categorical_columns),
        continuous_columns=tuple(continuous_columns), target=target, test_file=test_file,
        continuous_transform=continuous_transform, max_modes=max_modes, seed=config.seed)
    self.dataset = table_dataset(self.table, config.seed, conditional=config.conditional)
    label_probs = None
    if config.conditional:
      label_probs = tuple(tabular.condition_probs(self.table, log_frequency=True))
    self.spec = DataSpec(
        self.dataset.data_shape, self.dataset.num_classes, label_probs,
        (("layout", self.table.layout), ("condition_spans", self.table.condition_spans)))

  def decode(self, samples: np.ndarray) -> pd.DataFrame:
    """Encoded rows `[n, width]` as a table."""
    return tabular.decode(self.table, samples)

  def decoder(self) -> decoders.Rows:
    return decoders.Rows(tabular.columns_json(self.table), tabular.dtypes(self.table))

  def evaluator(self, cache_dir: str) -> TableEvaluator:
    del cache_dir
    return TableEvaluator(self.table)

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    del cols
    return table_picture(self.decode(samples), self.table.train, self.table.categorical)

  def write_samples(self, path: str, samples: np.ndarray) -> list[str]:
    """`path.csv`: the rows."""
    self.decode(samples).to_csv(path + ".csv", index=False)
    return [path + ".csv"]

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.csv`, `samples.png` (every column beside the held-out rows) and each
    column's distance from the held-out rows."""
    del gan, g, labels, seed
    rows = self.decode(samples)
    rows.to_csv(os.path.join(out_dir, "samples.csv"), index=False)
    pictures.save_png(os.path.join(out_dir, "samples.png"),
                      table_picture(rows, self.table.test, self.table.categorical))
    return {"columns": table_metrics.column_distances(self.table.test, rows,
                                                      self.table.categorical)}

  def report(self, extras: dict[str, Any]) -> str:
    rows = [f"| {name} | "
            f"{'categorical (TV)' if name in self.table.categorical else 'continuous (KS)'} | "
            f"{distance:.3f} |" for name, distance in extras["columns"].items()]
    return "\n".join(["| column | kind | distance |", "|---|---|---|", *rows])


def build(config: ml_collections.ConfigDict) -> Table:
  """The table task of a config."""
  return Table(config, **task_kwargs(config, Table))

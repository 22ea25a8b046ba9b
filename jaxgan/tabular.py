"""Tables with continuous and categorical columns, as rows of floats for a tabular GAN
(CTGAN, Xu et al. 2019).

A table is a CSV file (`--config.dataset=PATH.csv`) or a table statsmodels ships offline
(`statsmodels:fair`). Text and boolean columns are categorical and numbers continuous,
unless `config.task_kwargs` lists the columns of each kind. Each row becomes one vector:
- a categorical column: the one-hot of its category;
- a continuous column, by CTGAN's mode-specific normalisation: a variational Gaussian
  mixture (scikit-learn's `BayesianGaussianMixture`) is fitted to the column, each value
  is given a mode drawn from its posterior, and becomes the one-hot of that mode after its
  offset from the mode's mean in units of 4 standard deviations (clipped to [-1, 1]);
  or, with `continuous_transform="scale"`, the value scaled from the column's range to
  [-1, 1].
A fifth of the rows (a fixed shuffle, the same for every seed) is held out for
evaluation, or the rows of `config.task_kwargs.test_file`.

Conditions (CTGAN's conditional vector): condition `c` is one category of one categorical
column, numbered over all categorical columns in order. Training draws them by
training-by-sampling (a column uniformly, then a category with probability proportional to
the log of its frequency, then a real row that has it), so rare categories are learnt;
samples are drawn with conditions in proportion to the data.
"""

import dataclasses
import importlib
import os
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from jaxgan.errors import ConfigError, DataError

STATSMODELS = "statsmodels:"
TRANSFORMS = ("mode_specific", "scale")
HELD_OUT_FRACTION = 0.2
MIN_MODE_WEIGHT = 0.005  # CTGAN's threshold for keeping a mixture component.
ALPHA_CLIP = 0.99


@dataclasses.dataclass(frozen=True)
class Column:
  """How one column is encoded: a categorical one by its `categories` (sorted values), a
  continuous one by its modes (`means`, `stds`, `weights`; none when scaled) and its range
  `(low, high)`, which decoded values are clipped to."""
  name: str
  categories: tuple = ()
  means: tuple[float, ...] = ()
  stds: tuple[float, ...] = ()
  weights: tuple[float, ...] = ()
  low: float = 0.0
  high: float = 0.0

  @property
  def categorical(self) -> bool:
    return bool(self.categories)

  @property
  def spans(self) -> tuple[tuple[int, str], ...]:
    """The parts of its encoding, `(size, kind)`: `"one_hot"` (a category or a mode) or
    `"value"` (one number in [-1, 1])."""
    if self.categorical:
      return ((len(self.categories), "one_hot"),)
    return ((1, "value"),) + (((len(self.means), "one_hot"),) if self.means else ())

  @property
  def width(self) -> int:
    return sum(size for size, _ in self.spans)


class Table(NamedTuple):
  """A table's columns and its raw `train` and `test` rows; `target` is the column that
  machine-learning efficacy predicts."""
  name: str
  columns: tuple[Column, ...]
  train: pd.DataFrame
  test: pd.DataFrame
  target: str

  @property
  def layout(self) -> tuple[tuple[int, str], ...]:
    """Every column's spans, in order: the generator's output layout."""
    return tuple(span for column in self.columns for span in column.spans)

  @property
  def width(self) -> int:
    """The length of an encoded row."""
    return sum(column.width for column in self.columns)

  @property
  def categorical(self) -> list[str]:
    return [column.name for column in self.columns if column.categorical]

  @property
  def num_conditions(self) -> int:
    return sum(len(column.categories) for column in self.columns)

  @property
  def condition_spans(self) -> tuple[tuple[int, int, int], ...]:
    """For each categorical column: `(offset in a row, size, first condition id)`."""
    spans, offset, first = [], 0, 0
    for column in self.columns:
      if column.categorical:
        spans.append((offset, len(column.categories), first))
        first += len(column.categories)
      offset += column.width
    return tuple(spans)


def _row_name(source: str, index: int) -> str:
  """Where row `index` (from 0) is: a CSV's line (its header is line 1), else its row."""
  return f"{source} line {index + 2}" if source.endswith(".csv") else f"{source} row {index}"


def read_frame(source: str) -> pd.DataFrame:
  """The raw table `source`: a statsmodels dataset `statsmodels:NAME` or a CSV file with a
  header line."""
  if source.startswith(STATSMODELS):
    name = source.removeprefix(STATSMODELS)
    try:
      module = importlib.import_module(f"statsmodels.datasets.{name}")
      return module.load_pandas().data
    except (ImportError, AttributeError):
      import statsmodels.datasets  # pylint: disable=import-outside-toplevel
      raise ConfigError(f"statsmodels has no dataset {name!r}. It has: "
                        f"{', '.join(statsmodels.datasets.__all__)}.") from None
  if not os.path.isfile(source):
    raise ConfigError(f"Table {source!r} is not a file. Give a CSV file with a header line, "
                      f"or a table statsmodels ships, e.g. '{STATSMODELS}fair'.")
  try:
    return pd.read_csv(source, skipinitialspace=True)
  except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
    raise DataError(f"Cannot read the CSV file {source!r}: {e}") from None


def _check_complete(frame: pd.DataFrame, source: str) -> None:
  missing = frame.isna().to_numpy()
  if missing.any():
    row, col = np.argwhere(missing)[0]
    raise DataError(f"{_row_name(source, row)}, column {frame.columns[col]!r}: the value is "
                      f"missing. Fill in or drop the rows with missing values.")


def _check_converted(converted: pd.Series, values: pd.Series, source: str, problem: str) -> None:
  """Raises ConfigError naming the first of `values` whose conversion failed (NaN)."""
  failed = converted.isna().to_numpy()
  if failed.any():
    row = int(np.argmax(failed))
    raise DataError(f"{_row_name(source, row)}, column {values.name!r}: {values.iloc[row]!r} "
                      f"{problem}")


def _check_numeric(values: pd.Series, source: str) -> np.ndarray:
  numbers = pd.to_numeric(values, errors="coerce")
  _check_converted(numbers, values, source, "is not a number, but the column is continuous. "
                   "List it in task_kwargs.categorical_columns if it is categorical.")
  return numbers.to_numpy(np.float64)


def _column_kinds(frame: pd.DataFrame, source: str, categorical: tuple[str, ...],
                  continuous: tuple[str, ...]) -> dict[str, bool]:
  """Whether each column is categorical: as listed, else text and booleans are."""
  for name in (*categorical, *continuous):
    if name not in frame.columns:
      raise ConfigError(f"{source} has no column {name!r} (named in config.task_kwargs). Its "
                        f"columns: {', '.join(map(str, frame.columns))}.")
  both = set(categorical) & set(continuous)
  if both:
    raise ConfigError(f"Columns {sorted(both)} are listed as both categorical and continuous.")
  return {name: name in categorical or (name not in continuous and (
      not pd.api.types.is_numeric_dtype(frame[name])
      or pd.api.types.is_bool_dtype(frame[name]))) for name in frame.columns}


def fit_column(values: pd.Series, *, categorical: bool, transform: str, max_modes: int,
               seed: int, source: str) -> Column:
  """The encoding of one column, fitted to its `values`."""
  name = str(values.name)
  if categorical:
    return Column(name, categories=tuple(sorted(pd.unique(values), key=str)))
  numbers = _check_numeric(values, source)
  value_range = {"low": float(numbers.min()), "high": float(numbers.max())}
  if transform == "scale":
    return Column(name, **value_range)
  mixture = BayesianGaussianMixture(
      n_components=max_modes, weight_concentration_prior_type="dirichlet_process",
      weight_concentration_prior=0.001, random_state=seed)
  with warnings.catch_warnings():  # Columns of few distinct values have fewer modes: fine.
    warnings.simplefilter("ignore", ConvergenceWarning)
    mixture.fit(numbers[:, None])
  kept = mixture.weights_ > MIN_MODE_WEIGHT
  stds = np.sqrt(mixture.covariances_.reshape(-1))[kept]
  weights = mixture.weights_[kept] / mixture.weights_[kept].sum()
  return Column(name, means=tuple(mixture.means_.reshape(-1)[kept].tolist()),
                stds=tuple(np.maximum(stds, 1e-6).tolist()), weights=tuple(weights.tolist()),
                **value_range)


def _mode_posteriors(column: Column, numbers: np.ndarray) -> np.ndarray:
  """`[n, modes]` posterior probabilities of each value's mode."""
  means, stds = np.array(column.means), np.array(column.stds)
  log_density = (np.log(column.weights) - np.log(stds)
                 - 0.5 * ((numbers[:, None] - means) / stds) ** 2)
  log_density -= log_density.max(axis=1, keepdims=True)
  density = np.exp(log_density)
  return density / density.sum(axis=1, keepdims=True)


def _category_indices(column: Column, values: pd.Series, source: str) -> np.ndarray:
  index = {category: i for i, category in enumerate(column.categories)}
  codes = values.map(index)
  _check_converted(codes, values, source, f"is a category the training rows do not have; "
                   f"they have {', '.join(map(repr, column.categories))}.")
  return codes.to_numpy(np.int64)


def encode_column(column: Column, values: pd.Series, rng: np.random.Generator,
                  source: str) -> np.ndarray:
  """float32 `[n, column.width]`: one-hot categories, or a value (and a sampled mode)."""
  if column.categorical:
    return np.eye(len(column.categories), dtype=np.float32)[
        _category_indices(column, values, source)]
  numbers = _check_numeric(values, source)
  if not column.means:
    scaled = 2 * (numbers - column.low) / max(column.high - column.low, 1e-12) - 1
    return np.clip(scaled, -1, 1)[:, None].astype(np.float32)
  probs = _mode_posteriors(column, numbers)
  modes = (probs.cumsum(axis=1) < rng.random((len(numbers), 1))).sum(axis=1)
  modes = np.minimum(modes, len(column.means) - 1)  # Rounding in cumsum.
  alpha = (numbers - np.array(column.means)[modes]) / (4 * np.array(column.stds)[modes])
  alpha = np.clip(alpha, -ALPHA_CLIP, ALPHA_CLIP)
  one_hot = np.eye(len(column.means))[modes]
  return np.concatenate([alpha[:, None], one_hot], axis=1).astype(np.float32)


def decode_column(column: Column, block: np.ndarray) -> np.ndarray:
  """The values `[n]` of encoded `block [n, column.width]` (argmax of one-hot parts), in
  the column's range."""
  if column.categorical:
    return np.asarray(column.categories, dtype=object)[np.argmax(block, axis=1)]
  alpha = np.clip(block[:, 0].astype(np.float64), -1, 1)
  if not column.means:
    return column.low + (alpha + 1) / 2 * (column.high - column.low)
  modes = np.argmax(block[:, 1:], axis=1)
  values = alpha * 4 * np.array(column.stds)[modes] + np.array(column.means)[modes]
  return np.clip(values, column.low, column.high)


def encode(table: Table, frame: pd.DataFrame, *, seed: int, source: str = "") -> np.ndarray:
  """float32 rows `[n, width]` of `frame` (every column of the table)."""
  rng = np.random.default_rng(seed)
  return np.concatenate([encode_column(column, frame[column.name].reset_index(drop=True),
                                       rng, source or table.name)
                         for column in table.columns], axis=1)


def decode(table: Table, rows: np.ndarray) -> pd.DataFrame:
  """The table rows that generated rows `[n, width]` stand for."""
  return decode_rows(table.columns, dtypes(table), rows)


def dtypes(table: Table) -> dict[str, str]:
  """Each column's dtype in the data, by name."""
  return {column.name: str(table.train[column.name].dtype) for column in table.columns}


def _plain(value):
  """`value` with numpy scalars (in tuples too) as Python ones, for JSON."""
  if isinstance(value, tuple):
    return [_plain(v) for v in value]
  return value.item() if isinstance(value, np.generic) else value


def columns_json(table: Table) -> list[dict]:
  """The columns' encodings as JSON-able dicts (`columns_from_json` reads them back)."""
  return [{k: _plain(v) for k, v in dataclasses.asdict(column).items()}
          for column in table.columns]


def columns_from_json(columns: list[dict]) -> tuple[Column, ...]:
  """The columns `columns_json` wrote."""
  return tuple(Column(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})
               for c in columns)


def decode_rows(columns: tuple[Column, ...], column_dtypes: dict[str, str],
                rows: np.ndarray) -> pd.DataFrame:
  """The table rows that generated rows `[n, width]` stand for, given the `columns`'
  encodings and the dtype each column had in the data."""
  rows = np.asarray(rows)
  blocks = np.split(rows, np.cumsum([column.width for column in columns])[:-1], axis=1)
  frame = pd.DataFrame({column.name: decode_column(column, block)
                        for column, block in zip(columns, blocks)})
  for column in columns:  # Values keep the type they had in the data.
    dtype = column_dtypes[column.name]
    values = frame[column.name]
    if pd.api.types.is_integer_dtype(dtype) and not column.categorical:
      values = np.round(values.astype(np.float64))
    frame[column.name] = values.astype(dtype)
  return frame


def condition_ids(table: Table, frame: pd.DataFrame) -> np.ndarray:
  """int `[n, categorical columns]`: each row's condition in each categorical column."""
  firsts = [first for _, _, first in table.condition_spans]
  return np.stack([first + _category_indices(column, frame[column.name].reset_index(drop=True),
                                             table.name)
                   for column, first in zip([c for c in table.columns if c.categorical], firsts)],
                  axis=1)


def condition_probs(table: Table, *, log_frequency: bool) -> np.ndarray:
  """`[num_conditions]`: a categorical column uniformly, then one of its categories with
  probability proportional to its frequency in the training rows (to `log(1 + count)`
  with `log_frequency`, training-by-sampling)."""
  if not table.condition_spans:
    raise ConfigError(f"{table.name} has no categorical column, so there is nothing to "
                      f"condition on; set conditional=False (or list its categorical columns "
                      f"in task_kwargs.categorical_columns).")
  counts = np.bincount(condition_ids(table, table.train).reshape(-1),
                       minlength=table.num_conditions).astype(np.float64)
  weights = np.log1p(counts) if log_frequency else counts
  probs = np.zeros(table.num_conditions)
  for _, size, first in table.condition_spans:
    probs[first:first + size] = weights[first:first + size] / weights[first:first + size].sum()
  return probs / len(table.condition_spans)


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
  order = np.random.default_rng(0).permutation(len(frame))
  held_out = int(round(HELD_OUT_FRACTION * len(frame)))
  return (frame.iloc[np.sort(order[held_out:])].reset_index(drop=True),
          frame.iloc[np.sort(order[:held_out])].reset_index(drop=True))


def load(source: str, *, categorical_columns: tuple[str, ...] = (),
         continuous_columns: tuple[str, ...] = (), target: str = "", test_file: str = "",
         continuous_transform: str = "mode_specific", max_modes: int = 10,
         seed: int = 0) -> Table:
  """Table `source` with its columns fitted to the training rows (categories to all rows
  of `source`; to its own rows if `test_file` holds the test rows). `target`: the last
  column if empty."""
  if continuous_transform not in TRANSFORMS:
    raise ConfigError(f"Unknown continuous_transform {continuous_transform!r}. Known: "
                      f"{', '.join(TRANSFORMS)}.")
  if max_modes < 1:
    raise ConfigError(f"task_kwargs.max_modes must be >= 1, got {max_modes}.")
  frame = read_frame(source)
  _check_complete(frame, source)
  kinds = _column_kinds(frame, source, categorical_columns, continuous_columns)
  for name in frame.columns:
    if not kinds[name]:
      _check_numeric(frame[name], source)
  if test_file:
    train, test = frame, read_frame(test_file)
    missing = [name for name in frame.columns if name not in test.columns]
    if missing:
      raise ConfigError(f"{test_file} has no column {missing[0]!r}, which {source} has. Its "
                        f"columns: {', '.join(map(str, test.columns))}.")
    _check_complete(test, test_file)
  else:
    train, test = _split(frame)
  if len(train) < 10 or len(test) < 2:
    raise DataError(f"{source} has too few rows ({len(frame)}) to train and evaluate on.")
  target = target or str(frame.columns[-1])
  if target not in frame.columns:
    raise ConfigError(f"{source} has no column {target!r} (task_kwargs.target). Its columns: "
                      f"{', '.join(map(str, frame.columns))}.")
  columns = tuple(fit_column(
      (train if test_file or not kinds[name] else frame)[name], categorical=kinds[name],
      transform=continuous_transform, max_modes=max_modes, seed=seed, source=source)
                  for name in frame.columns)
  table = Table(source, columns, train, test[list(frame.columns)], target)
  encode(table, test, seed=seed, source=test_file or source)  # Unseen categories fail now.
  return table

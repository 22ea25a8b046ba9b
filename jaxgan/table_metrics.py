"""Metrics of generated table rows against real ones: each column's distribution, the
associations between columns, and machine-learning efficacy (pandas, scipy, scikit-learn)."""

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def ks_distance(real: np.ndarray, fake: np.ndarray) -> float:
  """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical
  distribution functions of values `[n]` and `[m]`, in [0, 1]."""
  return float(stats.ks_2samp(real, fake).statistic)


def total_variation(real: np.ndarray, fake: np.ndarray) -> float:
  """Half the L1 distance between the category frequencies of `[n]` and `[m]`, in [0, 1]."""
  p = pd.Series(real).value_counts(normalize=True)
  q = pd.Series(fake).value_counts(normalize=True)
  return float(0.5 * p.sub(q, fill_value=0.0).abs().sum())


def _correlation_ratio(categories: pd.Series, values: pd.Series) -> float:
  """How much of the variance of `values` their category explains, as a square root (eta)."""
  total = ((values - values.mean()) ** 2).sum()
  groups = values.groupby(categories.to_numpy())
  between = (groups.count() * (groups.mean() - values.mean()) ** 2).sum()
  return float(np.sqrt(between / total)) if total > 0 else 0.0


def _association(a: pd.Series, b: pd.Series, a_categorical: bool, b_categorical: bool) -> float:
  if a_categorical and b_categorical:  # Cramer's V.
    counts = pd.crosstab(a.to_numpy(), b.to_numpy()).to_numpy()
    return float(stats.contingency.association(counts)) if min(counts.shape) > 1 else 0.0
  if a_categorical or b_categorical:
    return _correlation_ratio(*((a, b) if a_categorical else (b, a)))
  r = np.corrcoef(a.to_numpy(np.float64), b.to_numpy(np.float64))[0, 1]
  return float(r) if np.isfinite(r) else 0.0


def association_matrix(frame: pd.DataFrame, categorical: list[str]) -> np.ndarray:
  """`[columns, columns]` associations of every pair of columns: Pearson's r of two
  continuous ones, Cramer's V of two categorical ones, the correlation ratio of a
  continuous one by a categorical one; ones on the diagonal."""
  names = list(frame.columns)
  matrix = np.eye(len(names))
  for i, a in enumerate(names):
    for j in range(i + 1, len(names)):
      b = names[j]
      matrix[i, j] = matrix[j, i] = _association(frame[a], frame[b], a in categorical,
                                                 b in categorical)
  return matrix


def ml_efficacy(train: pd.DataFrame, test: pd.DataFrame, *, target: str,
                categorical: list[str], seed: int = 0) -> float:
  """How well a model fitted to `train` predicts `target` on `test`: macro F1 for a
  categorical target, R^2 for a continuous one. The model is scikit-learn's histogram
  gradient boosting on the other columns (categorical ones one-hot)."""
  features = [name for name in train.columns if name != target]
  classify = target in categorical
  y_train, y_test = train[target], test[target]
  if classify:
    y_train, y_test = y_train.astype(str), y_test.astype(str)
  if classify and y_train.nunique() < 2:  # Nothing to learn: the one class seen.
    predictions = np.full(len(test), y_train.iloc[0])
  else:
    encoder = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
          [name for name in features if name in categorical])], remainder="passthrough")
    model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        random_state=seed)
    predictions = make_pipeline(encoder, model).fit(train[features], y_train).predict(
        test[features])
  if classify:
    return float(f1_score(y_test, predictions, average="macro"))
  return float(r2_score(y_test, predictions))


def column_distances(real: pd.DataFrame, fake: pd.DataFrame, categorical: list[str]
                     ) -> dict[str, float]:
  """Each column's distance between `real` and generated `fake` rows: the total variation
  distance of a categorical column, the Kolmogorov-Smirnov statistic of a continuous one."""
  return {name: total_variation(real[name].to_numpy(), fake[name].to_numpy())
          if name in categorical else
          ks_distance(real[name].to_numpy(np.float64), fake[name].to_numpy(np.float64))
          for name in real.columns}


def table_metrics(real: pd.DataFrame, fake: pd.DataFrame, categorical: list[str]
                  ) -> dict[str, float]:
  """Distances of generated rows `fake` from `real` rows (the same columns): `marginal`
  (the mean of `column_distances`), `ks` and `tv` (their means over the continuous and
  the categorical columns) and `association` (the mean absolute difference of the
  association matrices over the pairs of columns)."""
  distances = column_distances(real, fake, categorical)
  results = {"marginal": float(np.mean(list(distances.values())))}
  for kind, is_categorical in (("ks", False), ("tv", True)):
    values = [v for name, v in distances.items() if (name in categorical) == is_categorical]
    if values:
      results[kind] = float(np.mean(values))
  difference = np.abs(association_matrix(real, categorical) - association_matrix(fake, categorical))
  pairs = np.triu_indices(len(real.columns), k=1)
  results["association"] = float(np.mean(difference[pairs])) if pairs[0].size else 0.0
  return results

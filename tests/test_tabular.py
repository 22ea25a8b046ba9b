"""Tables: loading and its errors, CTGAN's transforms, training-by-sampling, the tabular
generator, the table metrics against independent computations, and a run end to end."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import jaxgan
from jaxgan import table_metrics, tabular, tasks
from jaxgan.errors import ConfigError
from jaxgan.evaluate import evaluate_workdir
from jaxgan.models.table import TableGenerator
from jaxgan.state import sample_labels
from jaxgan.tasks import table as table_task
from jaxgan.trainer import build_gan, train_and_evaluate


def _frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
  """Colour (text), size (small integers), weight (two modes, depending on size), flag."""
  rng = np.random.default_rng(seed)
  size = rng.choice([1, 2, 3], rows, p=[0.7, 0.25, 0.05])
  weight = np.where(size == 1, 10.0, 50.0) + rng.normal(0, 1, rows)
  return pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], rows),
                       "size": size, "weight": weight, "flag": rng.random(rows) < 0.3})


@pytest.fixture
def csv_path(tmp_path) -> str:
  path = str(tmp_path / "things.csv")
  _frame().to_csv(path, index=False)
  return path


def _load(path: str, **kwargs) -> tabular.Table:
  return tabular.load(path, categorical_columns=("size",), max_modes=4, **kwargs)


def test_column_kinds_are_inferred_or_given_and_rows_split_in_fifths(csv_path):
  inferred = tabular.load(csv_path, max_modes=4)
  assert inferred.categorical == ["colour", "flag"]
  table = _load(csv_path)
  assert table.categorical == ["colour", "size", "flag"]
  assert table.columns[1].categories == (1, 2, 3)
  assert (len(table.train), len(table.test)) == (240, 60)
  pd.testing.assert_frame_equal(
      pd.concat([table.train, table.test]).sort_values("weight", ignore_index=True),
      pd.read_csv(csv_path).sort_values("weight", ignore_index=True))
  assert table.target == "flag"  # The last column by default.
  assert table.layout == ((3, "one_hot"), (3, "one_hot"), (1, "value"),
                          (len(table.columns[2].means), "one_hot"), (2, "one_hot"))


def test_mode_specific_normalisation_finds_the_modes_and_decodes_back(csv_path):
  table = _load(csv_path)
  weight = table.columns[2]
  assert sorted(round(m) for m, w in zip(weight.means, weight.weights) if w > 0.05) == [10, 50]
  rows = tabular.encode(table, table.train, seed=0)
  assert rows.shape == (240, sum(size for size, _ in table.layout))
  value, modes = rows[:, 6], rows[:, 7:7 + len(weight.means)]
  assert np.all(np.abs(value) <= 1) and np.all(modes.sum(axis=1) == 1)
  # Each weight's mode is the component it lies in (the modes are 40 stds apart).
  chosen = np.array(weight.means)[np.argmax(modes, axis=1)]
  assert np.all(np.abs(chosen - table.train["weight"]) < 5)
  back = tabular.decode(table, rows)
  for name in ("colour", "size", "flag"):
    assert back[name].equals(table.train[name])
  np.testing.assert_allclose(back["weight"], table.train["weight"], atol=1e-4)
  far = rows.copy()
  far[:, 6] = 1.0  # 4 stds above every mode: decoded within the training rows' range.
  assert tabular.decode(table, far)["weight"].max() == table.train["weight"].max()
  scaled = tabular.load(csv_path, categorical_columns=("size",), continuous_transform="scale")
  scaled_rows = tabular.encode(scaled, scaled.train, seed=0)
  assert scaled_rows[:, 6].min() == -1 and scaled_rows[:, 6].max() == 1
  np.testing.assert_allclose(tabular.decode(scaled, scaled_rows)["weight"],
                             scaled.train["weight"], atol=1e-4)


def test_training_by_sampling_draws_rows_of_the_condition_with_log_frequencies(csv_path):
  table = _load(csv_path)
  probs = tabular.condition_probs(table, log_frequency=True)
  counts = {"colour": table.train["colour"].value_counts().sort_index(),
            "size": table.train["size"].value_counts().sort_index(),
            "flag": table.train["flag"].value_counts().sort_index()}
  expected = np.concatenate([np.log1p(c.to_numpy()) / np.log1p(c.to_numpy()).sum() / 3
                             for c in counts.values()])
  np.testing.assert_allclose(probs, expected)
  plain = tabular.condition_probs(table, log_frequency=False)
  np.testing.assert_allclose(plain[3:6], counts["size"].to_numpy() / 240 / 3)

  dataset = table_task.table_dataset(table, seed=0, conditional=True)
  rows, labels = zip(*(dataset.batch(step, 500) for step in range(8)))
  rows, labels = np.concatenate(rows), np.concatenate(labels)
  for offset, size, first in table.condition_spans:  # Each row has its condition's category.
    asked = (labels >= first) & (labels < first + size)
    assert np.all(np.argmax(rows[asked, offset:offset + size], axis=1) == labels[asked] - first)
  frequencies = np.bincount(labels, minlength=table.num_conditions) / len(labels)
  np.testing.assert_allclose(frequencies, probs, atol=0.02)
  assert frequencies[5] > 0.05  # The rare size (5% of rows) is drawn often.
  again = table_task.table_dataset(table, seed=0, conditional=True).batch(3, 16)
  np.testing.assert_array_equal(again[0], dataset.batch(3, 16)[0])


@pytest.mark.parametrize("content,kwargs,message", [
    ("a,b\n1,x\n", {"categorical_columns": ("c",)}, "has no column 'c'.*Its columns: a, b"),
    ("a,b\n1,x\n2,\n3,y\n", {}, r"line 3, column 'b': the value is missing"),
    ("a,b\n1,x\nz,y\n", {"continuous_columns": ("a",)}, r"line 3, column 'a': 'z' is not a num"),
])
def test_bad_tables_name_the_file_and_the_row_or_column(tmp_path, content, kwargs, message):
  path = tmp_path / "bad.csv"
  path.write_text(content)
  with pytest.raises(ConfigError, match=f"{path}.*{message}" if "line" in message else message):
    tabular.load(str(path), **kwargs)


def test_an_unseen_category_or_missing_column_in_the_test_file_is_named(tmp_path, csv_path):
  test = _frame(20, seed=1)
  test.loc[7, "colour"] = "purple"
  test.to_csv(tmp_path / "test.csv", index=False)
  with pytest.raises(ConfigError, match=r"test.csv line 9, column 'colour': 'purple' is a "
                                        r"category the training rows do not have"):
    _load(csv_path, test_file=str(tmp_path / "test.csv"))
  test.drop(columns="flag").to_csv(tmp_path / "short.csv", index=False)
  with pytest.raises(ConfigError, match="short.csv has no column 'flag'"):
    _load(csv_path, test_file=str(tmp_path / "short.csv"))
  _frame()[["size", "weight"]].to_csv(tmp_path / "numbers.csv", index=False)
  numbers_only = tabular.load(str(tmp_path / "numbers.csv"), max_modes=4)
  with pytest.raises(ConfigError, match="no categorical column, so there is nothing to cond"):
    tabular.condition_probs(numbers_only, log_frequency=True)
  for source, message in (("statsmodels:nope", "statsmodels has no dataset 'nope'. It has: "),
                          (str(tmp_path / "absent.csv"), "is not a file")):
    with pytest.raises(ConfigError, match=message):
      tabular.load(source)


def test_the_generator_lays_out_values_and_one_hots_and_obeys_its_condition(csv_path):
  table = _load(csv_path)
  width = sum(size for size, _ in table.layout)
  latents, labels = jax.random.normal(jax.random.key(0), (64, 8)), jnp.arange(64) % 8
  for output in ("gumbel_softmax", "straight_through", "gumbel_softmax_relaxed"):
    g = TableGenerator(data_shape=(width,), layout=table.layout,
                       condition_spans=table.condition_spans, output=output, num_classes=8)
    variables = jax.jit(functools.partial(g.init, train=False))(
        {"params": jax.random.key(1), "noise": jax.random.key(2)}, latents, labels)
    rows = jax.jit(functools.partial(g.apply, train=False))(
        variables, latents, labels, rngs={"noise": jax.random.key(3)})
    assert rows.shape == (64, width)
    assert np.all(np.abs(rows[:, 6]) <= 1)
    one_hots = [rows[:, o:o + s] for o, s, _ in table.condition_spans]
    for part in one_hots:
      np.testing.assert_allclose(part.sum(axis=1), 1.0, atol=1e-5)
      if output != "gumbel_softmax_relaxed":
        assert set(np.unique(np.asarray(part))) <= {0.0, 1.0}
    for (offset, size, first) in table.condition_spans:
      asked = (labels >= first) & (labels < first + size)
      chosen = np.argmax(rows[:, offset:offset + size], axis=1)
      np.testing.assert_array_equal(chosen[asked], labels[asked] - first)
      assert np.all(np.asarray(rows[asked, offset:offset + size]).max(axis=1) > 0.999)

  def loss(params):  # Straight-through: a gradient reaches G through the one-hot categories.
    out = g.apply({"params": params, "batch_stats": variables["batch_stats"]}, latents,
                  jnp.zeros(64, jnp.int32) + 5, train=False, rngs={"noise": jax.random.key(3)})
    return jnp.sum(out[:, :3] * jnp.arange(3.0))

  g = TableGenerator(data_shape=(width,), layout=table.layout,
                     condition_spans=table.condition_spans, output="straight_through",
                     num_classes=8)
  grads = jax.grad(loss)(variables["params"])
  assert float(jnp.abs(grads["Dense_2"]["kernel"][:, :3]).sum()) > 0


def test_marginal_distances_match_their_definitions():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=400), rng.normal(0.5, 1, size=300)
  grid = np.sort(np.concatenate([a, b]))
  ecdf = lambda x: np.searchsorted(np.sort(x), grid, side="right") / len(x)  # noqa: E731
  assert table_metrics.ks_distance(a, b) == pytest.approx(np.max(np.abs(ecdf(a) - ecdf(b))))
  assert table_metrics.total_variation(np.array(["x", "x", "y", "z"]),
                                 np.array(["x", "y", "y", "w"])) == pytest.approx(0.5)
  frame = _frame(500)
  same = table_metrics.table_metrics(frame, frame, ["colour", "size", "flag"])
  assert same["marginal"] == 0 and same["association"] == 0


def test_associations_match_independent_computations():
  frame = _frame(500)
  matrix = table_metrics.association_matrix(frame, ["colour", "size", "flag"])
  names = list(frame.columns)
  counts = pd.crosstab(frame["colour"], frame["flag"]).to_numpy()
  chi2 = stats.chi2_contingency(counts, correction=False)[0]
  cramer = np.sqrt(chi2 / (counts.sum() * (min(counts.shape) - 1)))
  assert matrix[names.index("colour"), names.index("flag")] == pytest.approx(cramer)
  # The correlation ratio squared is the R^2 of the weight on its size's one-hot.
  design = np.eye(3)[frame["size"].to_numpy() - 1]
  fitted = design @ np.linalg.lstsq(design, frame["weight"], rcond=None)[0]
  r2 = 1 - np.sum((frame["weight"] - fitted) ** 2) / np.sum(
      (frame["weight"] - frame["weight"].mean()) ** 2)
  assert matrix[names.index("size"), names.index("weight")] == pytest.approx(np.sqrt(r2))
  assert matrix[1, 2] > 0.9 and matrix[0, 3] < 0.2 and np.allclose(matrix, matrix.T)


def test_ml_efficacy_scores_what_can_and_cannot_be_learnt():
  frame = _frame(600)
  frame["heavy"] = frame["weight"] > 30
  train, test = frame[:400], frame[400:]
  kinds = ["colour", "size", "heavy"]
  # Heavy is given by the weight: a learnt model scores ~1 (macro F1); colour is a coin.
  assert table_metrics.ml_efficacy(train, test, target="heavy", categorical=kinds) > 0.95
  assert table_metrics.ml_efficacy(train, test, target="colour", categorical=kinds) < 0.5
  one_class = train.assign(heavy=True)
  assert table_metrics.ml_efficacy(one_class, test, target="heavy", categorical=kinds) < 0.5
  assert table_metrics.ml_efficacy(train, test, target="weight", categorical=["colour"]) > 0.9


@pytest.fixture
def table_config(csv_path, digits_config):
  config = digits_config
  config.task = "table"
  config.dataset = csv_path
  config.task_kwargs = {"categorical_columns": ("size",), "target": "size", "max_modes": 4}
  config.conditional = True
  config.model = "tabular"
  config.latent_dim = 8
  config.generator = {"hidden_dims": (32,), "output": "gumbel_softmax", "temperature": 0.2}
  config.discriminator = {"hidden_dims": (32,)}
  config.batch_size = 32
  config.num_train_steps = 4
  config.num_samples = 40
  config.eval_every_steps = 4
  config.eval_num_samples = 200
  return config


def test_fake_rows_get_conditions_by_training_by_sampling(table_config):
  task = tasks.from_config(table_config)
  table = task.table
  gan = build_gan(table_config, task.spec)
  assert gan.num_classes == table.num_conditions == 8
  probs = tabular.condition_probs(table, log_frequency=True)
  labels = sample_labels(gan, jax.random.key(0), 40_000)
  np.testing.assert_allclose(np.bincount(labels, minlength=8) / 40_000, probs, atol=0.01)


@pytest.mark.slow
def test_a_conditional_table_gan_trains_and_evaluates_end_to_end(tmp_path, table_config):
  workdir = str(tmp_path / "run")
  train_and_evaluate(table_config, workdir)
  written = pd.read_csv(os.path.join(workdir, "samples", "step_0000004.csv"))
  assert list(written.columns) == ["colour", "size", "weight", "flag"]
  assert set(written["colour"]) <= {"red", "green", "blue"}
  logged = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  evaluated = [row for row in logged if "eval/marginal" in row][-1]
  assert 0 <= evaluated["eval/marginal"] <= 1 and 0 <= evaluated["eval/efficacy_real"] <= 1
  results = evaluate_workdir(workdir, num_samples=300)
  out = os.path.join(workdir, "eval", "step_0000004")
  assert len(pd.read_csv(os.path.join(out, "samples.csv"))) == 300
  saved = json.load(open(os.path.join(out, "metrics.json")))
  assert set(saved["columns"]) == {"colour", "size", "weight", "flag"}
  assert results["eval/marginal"] == pytest.approx(np.mean(list(saved["columns"].values())))
  assert os.path.isfile(os.path.join(out, "samples.png"))
  rows = jaxgan.load(workdir).sample(30, seed=1)  # Without the task.
  assert list(rows.columns) == ["colour", "size", "weight", "flag"] and len(rows) == 30
  assert set(rows["colour"]) <= {"red", "green", "blue"}
  assert {name: str(dtype) for name, dtype in rows.dtypes.items()} == tabular.dtypes(
      tasks.from_config(table_config).table)

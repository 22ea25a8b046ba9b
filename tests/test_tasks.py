"""Kinds of data as plug-ins: a kind defined in this file alone trains, checkpoints, resumes,
evaluates and writes its samples through the unchanged trainer and evaluate command; the
trainer and commands import no kind; the core imports none of the kinds' dependencies."""

import ast
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxgan import evaluate, evaluation, pictures, tasks, trainer
from jaxgan.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parent.parent


class LineEvaluator(tasks.Evaluator):
  """How far samples lie from the line y = slope * x."""
  main_metric = ("eval/line_error", "min")

  def __init__(self, slope: float):
    self.slope = slope

  def describe(self, num_samples: int) -> str:
    return f"{num_samples} points against the line y = {self.slope} x"

  def __call__(self, gan, g, rng, num_samples):
    samples, labels = evaluation.sample(gan, g, rng, num_samples)
    error = np.mean(np.abs(samples[:, 1] - self.slope * samples[:, 0]))
    return {"eval/line_error": float(error)}, samples, labels


class Line(tasks.Task):
  """Points `[2]` near the line y = slope * x, x uniform in [-1, 1]."""

  def __init__(self, config, *, slope: float = 2.0):
    self.slope = slope

    def batch(step, batch_size, rows=None):
      rng = np.random.default_rng((config.seed, step))
      x = rng.uniform(-1, 1, batch_size).astype(np.float32)
      points = np.stack([x, slope * x + 0.01 * rng.standard_normal(batch_size)], axis=1)
      return points.astype(np.float32) if rows is None else points[rows].astype(np.float32)

    self.dataset = tasks.Dataset("line", (2,), batch)
    self.spec = tasks.DataSpec((2,))

  def evaluator(self, cache_dir):
    return LineEvaluator(self.slope)

  def picture(self, samples, cols):
    return pictures.text_picture([f"{x:.2f} {y:.2f}" for x, y in samples[:8]])

  def write_samples(self, path, samples):
    np.savetxt(path + ".tsv", samples, delimiter="\t")
    return [path + ".tsv"]

  def write_evaluation(self, out_dir, gan, g, samples, labels, seed):
    np.savetxt(os.path.join(out_dir, "points.tsv"), samples, delimiter="\t")
    return {"mean_x": float(np.mean(samples[:, 0]))}

  def report(self, extras):
    return f"mean x: {extras['mean_x']:.3f}"


def build(config):
  return Line(config, **config.task_kwargs)


tasks.TASKS.register("line", build)


@pytest.fixture
def line_config(ring_config):
  ring_config.task = "line"
  ring_config.dataset = "line"
  ring_config.task_kwargs = {"slope": 3.0}
  ring_config.eval_every_steps = 2
  ring_config.eval_num_samples = 64
  return ring_config


def test_a_kind_defined_in_a_test_trains_resumes_and_evaluates(line_config, tmp_path, capsys):
  workdir = str(tmp_path / "run")
  trainer.train_and_evaluate(line_config, workdir)
  samples = np.loadtxt(tmp_path / "run" / "samples" / "step_0000004.tsv")
  assert samples.shape == (line_config.num_samples, 2)
  assert (tmp_path / "run" / "samples" / "step_0000004.png").stat().st_size > 0
  rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
  assert [row["step"] for row in rows if "eval/line_error" in row] == [2, 4]
  assert os.listdir(tmp_path / "run" / "best" / "checkpoints")  # Chosen by eval/line_error.

  line_config.num_train_steps = 6  # Resumes from step 4.
  state = trainer.train_and_evaluate(line_config, workdir)
  assert int(state.step) == 6
  rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
  assert [row["step"] for row in rows if "eval/line_error" in row] == [2, 4, 6]

  capsys.readouterr()
  results = evaluate.evaluate_workdir(workdir, num_samples=50)
  printed = capsys.readouterr().out
  assert "| line_error |" in printed and "mean x: " in printed
  out = tmp_path / "run" / "eval" / "step_0000006"
  assert np.loadtxt(out / "points.tsv").shape == (50, 2)
  saved = json.loads((out / "metrics.json").read_text())
  assert saved["eval/line_error"] == results["eval/line_error"]
  assert saved["measured_on"] == "50 points against the line y = 3.0 x"
  assert saved["mean_x"] == pytest.approx(np.mean(np.loadtxt(out / "points.tsv")[:, 0]))


def test_a_kind_named_by_module_path(line_config):
  line_config.task = f"{__name__}:build"
  task = tasks.from_config(line_config)
  assert isinstance(task, Line) and task.slope == 3.0


def test_unknown_kinds_and_misspelt_settings_are_clear_errors(ring_config):
  ring_config.task = "imagez"
  with pytest.raises(ConfigError, match="Unknown task 'imagez'. Did you mean 'images'?"):
    tasks.from_config(ring_config)
  ring_config.task = "words"
  ring_config.dataset = "english_words"
  ring_config.task_kwargs = {"sequence_lenght": 8}
  with pytest.raises(ConfigError, match="takes no argument 'sequence_lenght'. Did you mean "
                                        "'sequence_length'"):
    tasks.from_config(ring_config)


def _imported_modules(path: pathlib.Path) -> set[str]:
  modules = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      modules |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
      modules |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
  return modules


KIND_MODULES = ("jaxgan.audio", "jaxgan.tabular", "jaxgan.text", "jaxgan.table_metrics",
                "jaxgan.sklearn_digits", "jaxgan.tasks.images", "jaxgan.tasks.mixture",
                "jaxgan.tasks.words", "jaxgan.tasks.table", "jaxgan.tasks.audio")


@pytest.mark.parametrize("module", ["trainer", "evaluate", "evaluation", "data", "parallel",
                                    "checkpointing", "pictures", "classifier"])
def test_the_trainer_and_the_commands_import_no_kind(module):
  imported = _imported_modules(ROOT / "jaxgan" / f"{module}.py")
  assert not imported & set(KIND_MODULES)
  source = (ROOT / "jaxgan" / f"{module}.py").read_text()
  for kind in ("images", "mixture", "words", "table", "audio"):
    assert f'== "{kind}"' not in source and f"kind == '{kind}'" not in source


HEAVY = ("tensorflow_datasets", "pandas", "sklearn", "scipy", "soundfile", "matplotlib",
         "tensorboardX", "PIL", "orbax", "tensorflow")


def test_the_core_imports_none_of_the_kinds_dependencies():
  code = ("import sys, jaxgan, jaxgan.losses, jaxgan.regularizers, jaxgan.state, jaxgan.step, "
          "jaxgan.models, jaxgan.tasks; "
          f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=True)
  assert result.stdout.strip() == ""
  # The test can fail: the trainer does load them.
  code = code.replace("jaxgan.tasks;", "jaxgan.tasks, jaxgan.trainer, jaxgan.tasks.images;")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=True)
  assert "tensorflow_datasets" in result.stdout.split()


def test_a_kind_whose_extra_is_not_installed_names_the_extra(ring_config, monkeypatch):
  monkeypatch.setitem(sys.modules, "pandas", None)  # As if not installed.
  monkeypatch.delitem(sys.modules, "jaxgan.tasks.table", raising=False)
  ring_config.task = "table"
  with pytest.raises(ConfigError, match=r"Task 'table' needs packages that are not installed "
                                        r".*pip install 'jaxgan\[tables\]'"):
    tasks.from_config(ring_config)

"""The feature classifier, evaluation during training, the evaluate command and the plots."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan import classifier, data, evaluate, evaluation, init_state, metrics, tasks, trainer
from jaxgan.tasks import DataSpec, images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def digits_classifier(cache_dir, data_dir):
  return images.feature_classifier("sklearn_digits", 16, cache_dir=cache_dir, data_dir=data_dir)


def test_classifier_reaches_its_accuracy_and_is_cached(digits_classifier, cache_dir, data_dir):
  assert digits_classifier.test_accuracy > 0.95
  again = images.feature_classifier("sklearn_digits", 16, cache_dir=cache_dir, data_dir=data_dir)
  assert again.test_accuracy == pytest.approx(digits_classifier.test_accuracy)
  jax.tree.map(np.testing.assert_array_equal, again.params, digits_classifier.params)


def test_classifier_training_shows_progress(data_dir, capsys):
  def split(name):
    return images.load_split("sklearn_digits", split=name, image_size=8, data_dir=data_dir)
  classifier.fit(classifier.LeNet(), split("train"), split("test"), name="sklearn_digits",
                 epochs=2)
  progress = capsys.readouterr().err
  assert "Training the sklearn_digits feature classifier" in progress and "2/2" in progress


def test_real_digits_are_close_in_classifier_features(digits_classifier, data_dir):
  def features(split):
    real = data.resize_images(images.read("sklearn_digits", split=split, data_dir=data_dir), 16)
    return digits_classifier.embed(real.astype(np.float32) / 127.5 - 1)
  train_features, _ = features("train")
  test_features, test_probs = features("test")
  noise, noise_probs = digits_classifier.embed(
      np.random.default_rng(0).uniform(-1, 1, (360, 16, 16, 1)).astype(np.float32))
  real_vs_real = metrics.frechet_distance(train_features, test_features)
  assert real_vs_real < 0.1 * metrics.frechet_distance(train_features, noise)
  assert metrics.class_coverage(test_probs)["classes_covered"] == 10
  assert metrics.classifier_score(test_probs) > 8 > metrics.classifier_score(noise_probs)


@pytest.fixture
def evaluated_run(digits_config, cache_dir, tmp_path, digits_classifier):
  del digits_classifier  # Trained once for the session, in cache_dir.
  digits_config.eval_every_steps = 2
  digits_config.eval_num_samples = 100
  digits_config.eval_cache_dir = cache_dir
  trainer.train_and_evaluate(digits_config, str(tmp_path))
  return tmp_path


def test_training_evaluates_and_keeps_the_best_checkpoint(evaluated_run):
  rows = [json.loads(line) for line in open(evaluated_run / "metrics.jsonl")]
  evals = [row for row in rows if "eval/fd_classifier" in row]
  assert [row["step"] for row in evals] == [2, 4]
  for key in ("eval/kid", "eval/precision", "eval/recall", "eval/coverage",
              "eval/classifier_score", "eval/classes_covered"):
    assert np.isfinite(evals[0][key])
  best_step = min(evals, key=lambda row: row["eval/fd_classifier"])["step"]
  assert os.listdir(evaluated_run / "best" / "checkpoints") == [str(best_step)]
  assert (evaluated_run / "metrics.png").stat().st_size > 0


@pytest.mark.slow
def test_evaluate_command_on_a_workdir(evaluated_run):
  result = subprocess.run(
      [sys.executable, "-m", "jaxgan.evaluate", f"--workdir={evaluated_run}",
       "--num_samples=200"], capture_output=True, text=True, timeout=300, cwd=ROOT)
  assert result.returncode == 0, result.stderr
  assert "| fd_classifier |" in result.stdout and "200 generated vs 1437 real" in result.stdout
  assert "| classes_covered | " in result.stdout and "/10 |" in result.stdout
  assert "WARNING" not in result.stderr and "Metadata file" not in result.stderr, result.stderr
  out = evaluated_run / "eval" / "step_0000004"
  assert np.load(out / "samples.npz")["samples"].shape == (200, 16, 16, 1)
  assert json.load(open(out / "metrics.json"))["step"] == 4
  for picture in ("samples.png", "interpolation.png"):
    assert (out / picture).stat().st_size > 0


def test_mixture_evaluation_and_scatter(ring_config, tmp_path):
  ring_config.eval_every_steps = 4
  ring_config.eval_num_samples = 500
  trainer.train_and_evaluate(ring_config, str(tmp_path))
  rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= set(rows[-1])
  results = evaluate.evaluate_workdir(str(tmp_path), num_samples=300)
  assert 0 <= results["eval/modes"] <= 8
  picture = np.asarray(Image.open(tmp_path / "eval" / "step_0000004" / "samples.png"))
  assert picture.ndim == 3 and picture.shape[2] == 3


def test_counts_print_with_what_they_count_out_of(ring_config, digits_classifier, cache_dir,
                                                  digits_config):
  del digits_classifier  # Trained once for the session, in cache_dir.
  ring = tasks.from_config(ring_config).evaluator(cache_dir)
  line = ring.format({"eval/modes": 7.0, "eval/high_quality": 0.31}, 2500)
  assert line == "on 2500 samples | modes 7/8 | high_quality 0.31"
  digits_config.eval_cache_dir = cache_dir
  digits = tasks.from_config(digits_config).evaluator(cache_dir)
  assert "| classes_covered 10/10" in digits.format({"eval/classes_covered": 10.0}, 100)


def test_interpolation_rows_move_between_two_latents(ring_config):
  gan = trainer.build_gan(ring_config, DataSpec((2,)))
  state = init_state(gan, jax.random.key(0), (2,))
  points = evaluation.interpolate(gan, state.g, jax.random.key(1), rows=3, cols=5)
  assert points.shape == (15, 2)
  assert not np.allclose(points[0], points[4]) and np.all(np.isfinite(points))


@pytest.mark.slow
def test_a_multi_scale_generator_is_measured_at_full_size_and_drawn_at_every_scale(
    digits_config, cache_dir, digits_classifier, tmp_path):
  del digits_classifier  # Trained once for the session, in cache_dir.
  digits_config.model = "msg"
  digits_config.generator = {"features": (8, 8, 8)}
  digits_config.discriminator = {"features": (8, 8, 8)}
  digits_config.eval_cache_dir = cache_dir
  trainer.train_and_evaluate(digits_config, str(tmp_path))
  results = evaluate.evaluate_workdir(str(tmp_path), num_samples=100)
  assert np.isfinite(results["eval/fd_classifier"]) and "eval/fid" not in results
  out = tmp_path / "eval" / "step_0000004"
  assert np.load(out / "samples.npz")["samples"].shape == (100, 16, 16, 1)
  scales = np.asarray(Image.open(out / "scales.png"))
  assert scales.shape == (3 * 65 + 1, 8 * 65 + 1)  # 4, 8 and 16 px rows, each shown at 64 px.
  top, bottom = scales[1:65, 1:65], scales[131:195, 1:65]
  assert len(np.unique(top)) <= 16 < len(np.unique(bottom))  # 4x4 pixels enlarged 16 times.

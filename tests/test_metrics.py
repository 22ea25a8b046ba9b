import numpy as np
import pytest

from jaxgan import data, metrics


def test_mode_coverage_of_the_true_distribution():
  centers, std = data.MIXTURES["grid25"]
  samples = data.get("grid25", seed=0, image_size=0).batch(0, 2500)
  result = metrics.mode_coverage(samples, centers, std)
  assert result["modes"] == 25 and result["high_quality"] > 0.98
  assert result["reverse_kl"] < 0.02


def test_mode_coverage_of_a_collapsed_generator():
  centers, std = data.MIXTURES["ring8"]
  rng = np.random.default_rng(0)
  # 900 points on mode 0, 100 on mode 1, and 1000 far from every mode.
  samples = np.concatenate([centers[0] + std * rng.uniform(-1, 1, (900, 2)),
                            centers[1] + std * rng.uniform(-1, 1, (100, 2)),
                            np.full((1000, 2), 10.0)])
  result = metrics.mode_coverage(samples, centers, std)
  assert result["modes"] == 2
  assert result["high_quality"] == pytest.approx(0.5, abs=0.01)
  q = np.array([0.9, 0.1])
  assert result["reverse_kl"] == pytest.approx(np.sum(q * np.log(q * 8)), rel=1e-6)


def test_mode_coverage_with_nothing_near_a_mode():
  centers, std = data.MIXTURES["ring8"]
  result = metrics.mode_coverage(np.full((100, 2), 50.0), centers, std)
  assert result == {"modes": 0, "high_quality": 0.0, "reverse_kl": pytest.approx(np.log(8))}


def test_min_count_decides_coverage():
  centers, std = data.MIXTURES["ring8"]
  samples = np.repeat(centers[:3], [5, 20, 40], axis=0)
  assert metrics.mode_coverage(samples, centers, std)["modes"] == 2
  assert metrics.mode_coverage(samples, centers, std, min_count=1)["modes"] == 3

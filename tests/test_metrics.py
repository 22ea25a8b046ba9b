import collections

import numpy as np
import pytest

from jaxgan import metrics
from jaxgan.tasks import mixture


def test_mode_coverage_of_the_true_distribution():
  centers, std = mixture.MIXTURES["grid25"]
  samples = mixture.mixture_dataset("grid25", 0).batch(0, 2500)
  result = metrics.mode_coverage(samples, centers, std)
  assert result["modes"] == 25 and result["high_quality"] > 0.98
  assert result["reverse_kl"] < 0.02


def test_mode_coverage_of_a_collapsed_generator():
  centers, std = mixture.MIXTURES["ring8"]
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
  centers, std = mixture.MIXTURES["ring8"]
  result = metrics.mode_coverage(np.full((100, 2), 50.0), centers, std)
  assert result == {"modes": 0, "high_quality": 0.0, "reverse_kl": pytest.approx(np.log(8))}


def test_min_count_decides_coverage():
  centers, std = mixture.MIXTURES["ring8"]
  samples = np.repeat(centers[:3], [5, 20, 40], axis=0)
  assert metrics.mode_coverage(samples, centers, std)["modes"] == 2
  assert metrics.mode_coverage(samples, centers, std, min_count=1)["modes"] == 3


def _gaussian_features(seed, n=2000, d=8, shift=0.0, scale=1.0):
  return np.random.default_rng(seed).normal(shift, scale, (n, d))


def test_frechet_distance_of_a_set_with_itself_is_zero():
  feats = _gaussian_features(0)
  assert abs(metrics.frechet_distance(feats, feats)) < 1e-8


def test_frechet_distance_of_a_shifted_copy_is_the_squared_shift():
  feats = _gaussian_features(0)
  shift = np.arange(8) * 0.5
  assert metrics.frechet_distance(feats, feats + shift) == pytest.approx(np.sum(shift ** 2))


def test_frechet_distance_against_scipy():
  scipy_linalg = pytest.importorskip("scipy.linalg")
  a = _gaussian_features(0) @ np.random.default_rng(1).normal(size=(8, 8))
  b = _gaussian_features(2, scale=2.0) + 1.0
  mu_a, mu_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  expected = (np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b)
              - 2 * np.trace(scipy_linalg.sqrtm(cov_a @ cov_b).real))
  assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_kernel_distance_is_unbiased_and_grows_with_a_shift():
  a, b = _gaussian_features(0), _gaussian_features(1)
  mean, std = metrics.kernel_distance(a, b, num_subsets=50, subset_size=500)
  assert abs(mean) < 3 * std + 1e-3  # Same distribution: no bias.
  shifted_mean, _ = metrics.kernel_distance(a, b + 1.0, num_subsets=50, subset_size=500)
  assert shifted_mean > 10 * max(abs(mean), std)


def test_precision_recall_on_toy_sets():
  real = _gaussian_features(0, n=1000, d=2)
  same = metrics.precision_recall(real, _gaussian_features(1, n=1000, d=2))
  assert min(same["precision"], same["recall"], same["coverage"]) > 0.85
  assert 0.7 < same["density"] < 1.3
  far = metrics.precision_recall(real, _gaussian_features(1, n=1000, d=2, shift=50.0))
  assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
  # A generator that covers only the centre: precise, with poor recall.
  centre = _gaussian_features(2, n=1000, d=2, scale=0.1)
  collapsed = metrics.precision_recall(real, centre)
  assert collapsed["precision"] > 0.95 and collapsed["recall"] < 0.2
  assert collapsed["coverage"] < 0.2


def test_classifier_score_and_class_coverage():
  confident = np.eye(10)[np.arange(1000) % 10]
  assert metrics.classifier_score(confident) == pytest.approx(10.0, rel=1e-6)
  one_class = np.eye(10)[np.zeros(1000, int)]
  assert metrics.classifier_score(one_class) == pytest.approx(1.0, rel=1e-6)
  assert metrics.class_coverage(confident) == {"classes_covered": 10,
                                               "class_kl": pytest.approx(0.0, abs=1e-12)}
  assert metrics.class_coverage(one_class) == {"classes_covered": 1,
                                               "class_kl": pytest.approx(np.log(10))}


def test_classifier_score_computes_in_double_precision_whatever_it_is_given():
  confident = np.eye(10, dtype=np.float16)[np.arange(1000) % 10]  # Half-precision outputs.
  assert metrics.classifier_score(confident) == pytest.approx(10.0, rel=1e-6)


def test_a_class_predicted_once_is_covered():
  probs = np.eye(3)[[0, 0, 0, 1]]
  assert metrics.class_coverage(probs)["classes_covered"] == 2


def test_nearest_mode_names_the_closest_center():
  centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
  points = np.array([[9.0, 1.0], [1.0, 1.0], [-1.0, 8.0], [6.0, 0.0]])
  np.testing.assert_array_equal(metrics.nearest_mode(points, centers), [1, 0, 2, 1])


def test_js_divergence_is_one_bit_against_nothing_and_zero_against_itself():
  words = collections.Counter({"ab": 3, "bc": 1})
  assert metrics.js_divergence(collections.Counter(), words) == 1.0
  assert metrics.js_divergence(words, collections.Counter()) == 1.0
  assert metrics.js_divergence(collections.Counter(), collections.Counter()) == 1.0
  assert metrics.js_divergence(words, words) == pytest.approx(0.0, abs=1e-12)
  assert metrics.js_divergence(words, collections.Counter({"cd": 2})) == pytest.approx(1.0)


def test_length_histogram_and_word_metrics_of_one_string():
  np.testing.assert_array_equal(metrics.length_histogram(["ab"], 3), [0.0, 0.0, 1.0, 0.0])
  results = metrics.word_metrics(["abc"], {"abc"}, {"abd"}, max_length=4)
  assert set(results) == {"valid_words", "novel_words", "unique", "js_1", "js_2", "js_3",
                          "js_4", "length_tv"}
  assert results["valid_words"] == 1.0 and results["novel_words"] == 0.0
  assert results["js_3"] == pytest.approx(1.0) and results["length_tv"] == 0.0


def test_high_quality_means_strictly_within_three_std_of_a_mode():
  centers = np.array([[0.0, 0.0], [100.0, 0.0]])
  samples = np.array([[2.9, 0.0], [3.0, 0.0], [3.5, 0.0], [100.0, 1.0]])
  result = metrics.mode_coverage(samples, centers, 1.0, min_count=1)
  assert result["high_quality"] == 0.5 and result["modes"] == 2


def test_frechet_distance_computes_in_double_precision_and_checks_its_inputs():
  feats_a, feats_b = _gaussian_features(0, n=50), _gaussian_features(1, n=50, shift=0.5)
  np.testing.assert_allclose(
      metrics.frechet_distance(feats_a.astype(np.float32), feats_b.astype(np.float32)),
      metrics.frechet_distance(feats_a.astype(np.float32).astype(np.float64),
                               feats_b.astype(np.float32).astype(np.float64)), rtol=1e-12)
  assert np.isfinite(metrics.frechet_distance(feats_a[:2], feats_b[:2]))  # Two are enough.
  with pytest.raises(ValueError, match=r"features must be \[n >= 2, d\], got shape \(1, 8\)"):
    metrics.frechet_distance(feats_a[:1], feats_b)
  with pytest.raises(ValueError, match=r"got shape \(50,\)"):
    metrics.frechet_distance(feats_a[:, 0], feats_b)


def test_frechet_distance_of_fewer_samples_than_features_is_finite():
  # Rank-deficient covariances: their zero eigenvalues come out slightly negative.
  feats = _gaussian_features(0, n=4, d=64)
  assert 0.0 <= metrics.frechet_distance(feats, feats) < 1e-4  # Rounding, of traces ~64.
  assert np.isfinite(metrics.frechet_distance(feats, _gaussian_features(1, n=4, d=64)))


def test_pairwise_distances_in_chunks_are_the_distances():
  x, y = _gaussian_features(0, n=7, d=3), _gaussian_features(1, n=5, d=3)
  direct = np.linalg.norm(x[:, None] - y[None], axis=-1)
  np.testing.assert_allclose(metrics._pairwise_distances(x, y, chunk=3), direct, rtol=1e-10)
  far = 1000 * _gaussian_features(2, n=50, d=8)  # |x|^2 - 2 x.x + |x|^2 rounds below 0 here.
  to_itself = np.diag(metrics._pairwise_distances(far, far))
  assert np.all(np.isfinite(to_itself)) and np.all(to_itself >= 0)


def test_precision_recall_defaults_to_three_neighbours():
  real, fake = _gaussian_features(0, n=200, d=2), _gaussian_features(1, n=200, d=2, shift=0.5)
  assert metrics.precision_recall(real, fake) == metrics.precision_recall(real, fake, k=3)
  assert metrics.precision_recall(real, fake) != metrics.precision_recall(real, fake, k=4)


def test_kernel_distance_settings_inputs_and_sizes():
  a, b = _gaussian_features(0, n=1100), _gaussian_features(1, n=1100, shift=0.2)
  assert metrics.kernel_distance(a, b) == metrics.kernel_distance(
      a, b, num_subsets=100, subset_size=1000, seed=0)
  low = metrics.kernel_distance(a.astype(np.float32), b.astype(np.float32), num_subsets=2)
  np.testing.assert_allclose(low, metrics.kernel_distance(
      a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64),
      num_subsets=2), rtol=1e-12)
  for small, large in ((a[:5], b), (a, b[:5])):  # Subsets no larger than the smaller set.
    assert np.isfinite(metrics.kernel_distance(small, large, num_subsets=2)[0])
  assert np.isfinite(metrics.kernel_distance(a[:2], b[:2], num_subsets=2)[0])
  with pytest.raises(ValueError, match="^kernel_distance needs at least 2 samples in each set"):
    metrics.kernel_distance(a[:1], b)


def test_a_sample_on_a_balls_edge_is_inside_it():
  real = np.array([[0.0], [1.0], [2.0], [3.0]])  # Each one's nearest other is 1 away.
  on_edges = metrics.precision_recall(real, np.array([[-1.0], [-2.0]]), k=1)
  assert on_edges["precision"] == 0.5 and on_edges["recall"] == 0.25  # -1 and 0: 1 apart.


def test_kernel_distance_is_the_unbiased_mmd_of_the_cubic_kernel():
  a = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 0.5]])
  b = np.array([[1.0, -1.0], [0.5, 0.0], [3.0, 1.0]])

  def kernel(x, y):
    return (x @ y / 2 + 1.0) ** 3  # d = 2

  def within(s):
    return sum(kernel(s[i], s[j]) for i in range(3) for j in range(3) if i != j) / 6

  across = sum(kernel(x, y) for x in a for y in b) / 9
  mean, std = metrics.kernel_distance(a, b, num_subsets=1, subset_size=3)
  assert mean == pytest.approx(within(a) + within(b) - 2 * across, rel=1e-12) and std == 0.0

"""Sample-quality metrics: pure numpy functions of samples, features and strings (those of
table rows are jaxgan.table_metrics; of sound, jaxgan.audio)."""

import collections

import numpy as np


def _distances_to_modes(samples: np.ndarray, centers: np.ndarray) -> np.ndarray:
  return np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)


def nearest_mode(samples: np.ndarray, centers: np.ndarray) -> np.ndarray:
  """The index `[n]` of the mode nearest to each of `samples [n, d]`."""
  return np.argmin(_distances_to_modes(samples, centers), axis=1)


def mode_coverage(samples: np.ndarray, centers: np.ndarray, std: float, *,
                  min_count: int = 20) -> dict[str, float]:
  """Mode metrics for a Gaussian mixture (the VEEGAN and PacGAN protocol).

  A sample is high quality if it lies within 3 std of its nearest mode; a mode is
  covered if at least `min_count` high-quality samples fall on it (PacGAN draws
  2,500 samples).

  Args:
    samples: `[n, d]` generated points.
    centers: `[modes, d]` mixture means.
    std: the mixture's standard deviation.
    min_count: high-quality samples a mode needs to count as covered.

  Returns:
    `modes` (number covered), `high_quality` (fraction of samples in [0, 1]) and
    `reverse_kl`: KL(generated mode histogram || uniform), 0 for perfect balance,
    log(modes) when everything falls on one mode (or nothing is high quality).
  """
  distances = _distances_to_modes(samples, centers)
  nearest = np.argmin(distances, axis=1)
  good = distances[np.arange(len(samples)), nearest] < 3 * std
  counts = np.bincount(nearest[good], minlength=len(centers))
  if counts.sum() == 0:
    reverse_kl = float(np.log(len(centers)))
  else:
    q = counts / counts.sum()
    q = q[q > 0]
    reverse_kl = float(np.sum(q * np.log(q * len(centers))))
  return {"modes": int(np.sum(counts >= min_count)), "high_quality": float(good.mean()),
          "reverse_kl": reverse_kl}


def _gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  features = np.asarray(features, np.float64)
  if features.ndim != 2 or len(features) < 2:
    raise ValueError(f"features must be [n >= 2, d], got shape {features.shape}.")
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
  """Fréchet distance between Gaussian fits of two feature sets (the FID formula,
  Heusel et al. 2017): `|mu_a - mu_b|^2 + tr(A + B - 2 (A^1/2 B A^1/2)^1/2)`.

  The matrix square root is taken of the symmetric `A^1/2 B A^1/2` by
  eigendecomposition, so no complex parts arise; tiny negative eigenvalues from
  rounding are clipped to 0, and so is the distance of nearly equal sets.

  Args:
    feats_a: `[n, d]`.
    feats_b: `[m, d]`.

  Returns:
    the distance, a float >= 0.
  """
  mu_a, cov_a = _gaussian(feats_a)
  mu_b, cov_b = _gaussian(feats_b)
  values, vectors = np.linalg.eigh(cov_a)
  sqrt_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
  cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
  trace_sqrt = np.sum(np.sqrt(np.clip(cross, 0, None)))
  distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
  return max(float(distance), 0.0)


def kernel_distance(feats_a: np.ndarray, feats_b: np.ndarray, *, num_subsets: int = 100,
                    subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
  """Kernel (Inception) distance, KID (Bińkowski et al. 2018): the unbiased MMD^2 with
  the kernel `(x.y / d + 1)^3`, averaged over random subsets.

  Args:
    feats_a: `[n, d]`.
    feats_b: `[m, d]`.
    num_subsets: subsets drawn (without replacement within each).
    subset_size: samples per subset from each set (at most min(n, m)).
    seed: for the subsets.

  Returns:
    `(mean, std)` over the subsets.
  """
  feats_a, feats_b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
  size = min(subset_size, len(feats_a), len(feats_b))
  if size < 2:
    raise ValueError("kernel_distance needs at least 2 samples in each set.")
  dim = feats_a.shape[1]
  rng = np.random.default_rng(seed)
  kernel = lambda x, y: (x @ y.T / dim + 1.0) ** 3  # noqa: E731
  estimates = []
  for _ in range(num_subsets):
    a = feats_a[rng.choice(len(feats_a), size, replace=False)]
    b = feats_b[rng.choice(len(feats_b), size, replace=False)]
    k_aa, k_bb = kernel(a, a), kernel(b, b)
    within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (size * (size - 1))
    estimates.append(within - 2 * kernel(a, b).mean())
  return float(np.mean(estimates)), float(np.std(estimates))


def _pairwise_distances(x: np.ndarray, y: np.ndarray, chunk: int = 2048) -> np.ndarray:
  """Euclidean distances `[len(x), len(y)]`, in chunks to bound memory."""
  y_sq = np.sum(y ** 2, axis=1)
  rows = []
  for i in range(0, len(x), chunk):
    xi = x[i:i + chunk]
    sq = np.sum(xi ** 2, axis=1)[:, None] - 2 * xi @ y.T + y_sq[None, :]
    rows.append(np.sqrt(np.clip(sq, 0, None)))
  return np.concatenate(rows)


def _knn_radii(features: np.ndarray, k: int) -> np.ndarray:
  """Distance of each point to its k-th nearest other point."""
  distances = _pairwise_distances(features, features)
  return np.partition(distances, k, axis=1)[:, k]  # Column 0 is the point itself.


def precision_recall(real: np.ndarray, fake: np.ndarray, *, k: int = 3) -> dict[str, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage
  (Naeem et al. 2020) with k-nearest-neighbour balls in feature space.

  precision: fraction of fake samples inside some real sample's k-NN ball;
  recall: fraction of real samples inside some fake sample's ball;
  density: mean number of real balls holding each fake sample, divided by k;
  coverage: fraction of real balls holding at least one fake sample.

  Args:
    real: `[n, d]` features of data.
    fake: `[m, d]` features of generated samples.
    k: neighbourhood size.

  Returns:
    `{"precision", "recall", "density", "coverage"}`.
  """
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
  real_to_fake = _pairwise_distances(real, fake)  # [n, m]
  in_real_balls = real_to_fake <= real_radii[:, None]
  return {
      "precision": float(np.mean(in_real_balls.any(axis=0))),
      "recall": float(np.mean((real_to_fake <= fake_radii[None, :]).any(axis=1))),
      "density": float(in_real_balls.sum() / (k * fake.shape[0])),
      "coverage": float(np.mean(in_real_balls.any(axis=1))),
  }


def classifier_score(probs: np.ndarray) -> float:
  """The Inception Score formula (Salimans et al. 2016) with any classifier:
  `exp(mean_x KL(p(y|x) || p(y)))`, from class probabilities `[n, classes]`; between 1
  and the number of classes."""
  probs = np.asarray(probs, np.float64)
  marginal = probs.mean(axis=0, keepdims=True)
  kl = np.sum(probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12)), axis=1)
  return float(np.exp(kl.mean()))


def class_coverage(probs: np.ndarray) -> dict[str, float]:
  """From class probabilities `[n, classes]`: how many classes are some sample's most
  likely class (`classes_covered`, of `classes`), and the KL of that class histogram
  from uniform."""
  probs = np.asarray(probs)
  classes = probs.shape[1]
  counts = np.bincount(np.argmax(probs, axis=1), minlength=classes)
  q = counts / counts.sum()
  nonzero = q[q > 0]
  return {"classes_covered": int(np.sum(counts > 0)),
          "class_kl": float(np.sum(nonzero * np.log(nonzero * classes)))}


def ngram_counts(strings: list[str], n: int) -> collections.Counter:
  """How often each character n-gram occurs within `strings`."""
  return collections.Counter(s[i:i + n] for s in strings for i in range(len(s) - n + 1))


def js_divergence(counts_p: collections.Counter, counts_q: collections.Counter) -> float:
  """Jensen-Shannon divergence in bits (0 to 1) of two distributions given by counts."""
  keys = sorted(counts_p.keys() | counts_q.keys())
  p = np.array([counts_p[k] for k in keys], np.float64)
  q = np.array([counts_q[k] for k in keys], np.float64)
  if not p.sum() or not q.sum():
    return 1.0
  p, q = p / p.sum(), q / q.sum()
  m = (p + q) / 2

  def kl(a):
    return np.sum(a[a > 0] * np.log2(a[a > 0] / m[a > 0]))

  return float((kl(p) + kl(q)) / 2)


def length_histogram(strings: list[str], max_length: int) -> np.ndarray:
  """The fraction of `strings` of each length `0..max_length` `[max_length + 1]`."""
  counts = np.bincount([len(s) for s in strings], minlength=max_length + 1)
  return counts / max(len(strings), 1)


def word_metrics(generated: list[str], train: set[str], held_out: set[str], *,
                 max_length: int, max_n: int = 4) -> dict[str, float]:
  """Metrics of generated strings against a word list's `train` and `held_out` parts.

  Returns `valid_words` (the fraction that are words of the list), `novel_words` (the
  fraction that are held-out words: valid, never trained on), `unique` (distinct strings
  over all), `js_1`..`js_<max_n>` (Jensen-Shannon divergence of character n-grams
  against the held-out words) and `length_tv` (total variation distance of the length
  histograms, against the held-out words).
  """
  results = {"valid_words": np.mean([s in train or s in held_out for s in generated]),
             "novel_words": np.mean([s in held_out for s in generated]),
             "unique": len(set(generated)) / len(generated)}
  reference = sorted(held_out)
  for n in range(1, max_n + 1):
    results[f"js_{n}"] = js_divergence(ngram_counts(generated, n), ngram_counts(reference, n))
  results["length_tv"] = 0.5 * np.abs(length_histogram(generated, max_length)
                                      - length_histogram(reference, max_length)).sum()
  return {k: float(v) for k, v in results.items()}

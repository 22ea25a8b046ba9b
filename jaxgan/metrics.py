"""Sample-quality metrics: pure numpy/JAX functions of samples or features."""

import numpy as np


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
  distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
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

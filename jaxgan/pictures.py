"""Pictures: sample grids, 2-D point densities and scatters, and plots of the metrics."""

import json
import math

import numpy as np
from PIL import Image


def image_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
  """Images `[n, h, w, c]` in [-1, 1] tiled into a uint8 grid `[H, W, c]` with a 1-pixel
  border, `cols` wide (near-square by default)."""
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  grid = np.zeros((rows * (h + 1) + 1, cols * (w + 1) + 1, c), np.uint8)
  pixels = np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)
  for i, image in enumerate(pixels):
    r, q = divmod(i, cols)
    grid[1 + r * (h + 1):(r + 1) * (h + 1), 1 + q * (w + 1):(q + 1) * (w + 1)] = image
  return grid


def point_density(points: np.ndarray, *, extent: float, size: int = 256) -> np.ndarray:
  """2-D points `[n, 2]` drawn as a uint8 `[size, size, 1]` log-density image of the
  square `[-extent, extent]^2` (dark is dense)."""
  counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=size,
                                range=[[-extent, extent], [-extent, extent]])
  density = np.log1p(counts[::-1])
  density /= max(density.max(), 1e-9)
  return np.round(255 * (1.0 - density)).astype(np.uint8)[..., None]


def save_png(path: str, image: np.ndarray) -> None:
  """Writes uint8 `[h, w, 1 or 3]` as PNG."""
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def samples_picture(samples: np.ndarray) -> np.ndarray:
  """The picture of a batch of samples: a grid of images, or a density of 2-D points."""
  if samples.ndim == 4:
    return image_grid(samples)
  return point_density(samples, extent=1.25 * float(np.max(np.abs(samples))) + 1e-3)


def _figure():
  import matplotlib  # pylint: disable=g-import-not-at-top  Only the plots need it.
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def plot_metrics(jsonl_path: str, png_path: str, cols: int = 4) -> None:
  """Plots every metric of a `metrics.jsonl` against the step, one small panel each."""
  rows = [json.loads(line) for line in open(jsonl_path, encoding="utf-8") if line.strip()]
  names = sorted({k for row in rows for k in row if k != "step"})
  plt = _figure()
  grid_rows = math.ceil(len(names) / cols)
  fig, axes = plt.subplots(grid_rows, cols, figsize=(3.2 * cols, 2.2 * grid_rows),
                           squeeze=False)
  for ax in axes.ravel()[len(names):]:
    ax.axis("off")
  for ax, name in zip(axes.ravel(), names):
    points = [(row["step"], row[name]) for row in rows if name in row]
    ax.plot(*zip(*points), marker="." if len(points) < 30 else None)
    ax.set_title(name, fontsize=9)
    ax.tick_params(labelsize=7)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90)
  plt.close(fig)


def scatter_points(png_path: str, samples: np.ndarray, real: np.ndarray,
                   centers: np.ndarray) -> None:
  """Real and generated 2-D points with the mixture's mode centres."""
  plt = _figure()
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.scatter(real[:, 0], real[:, 1], s=2, alpha=0.3, label="real")
  ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, label="generated")
  ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="black", label="modes")
  ax.set_aspect("equal")
  ax.legend(loc="upper right", fontsize=7)
  fig.tight_layout()
  fig.savefig(png_path, dpi=100)
  plt.close(fig)

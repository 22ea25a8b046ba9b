"""Pictures of samples: image grids and 2-D point densities, saved as PNG."""

import math

import numpy as np
from PIL import Image


def image_grid(images: np.ndarray) -> np.ndarray:
  """Images `[n, h, w, c]` in [-1, 1] tiled into a near-square uint8 grid `[H, W, c]`
  with a 1-pixel border."""
  n, h, w, c = images.shape
  cols = math.ceil(math.sqrt(n))
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

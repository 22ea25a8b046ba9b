"""Pictures every kind of data draws with: image grids, 2-D points over the mode centres,
text, matplotlib figures as arrays, and plots of the metrics (matplotlib loads on first
use)."""

import json
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jaxgan import decoders


def image_grid(images: np.ndarray, cols: int | None = None, *, min_size: int = 64
               ) -> np.ndarray:
  """Images `[n, h, w, c]` in [-1, 1] tiled into a uint8 grid `[H, W, c]` with a 1-pixel
  grey border, `cols` wide (near-square by default). Images smaller than `min_size` are
  enlarged by a whole factor (nearest neighbour) so that a grid reads at a glance."""
  return tile(decoders.pixels(images), cols, min_size=min_size)


def tile(pixels: np.ndarray, cols: int | None = None, *, min_size: int = 64) -> np.ndarray:
  """uint8 images `[n, h, w, c]` tiled as `image_grid` tiles them."""
  scale = max(1, -(-min_size // max(pixels.shape[1:3])))
  images = np.repeat(np.repeat(np.asarray(pixels), scale, axis=1), scale, axis=2)
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 128, np.uint8)
  for i, image in enumerate(images):
    r, q = divmod(i, cols)
    grid[1 + r * (h + 1):(r + 1) * (h + 1), 1 + q * (w + 1):(q + 1) * (w + 1)] = image
  return grid


def save_png(path: str, image: np.ndarray) -> None:
  """Writes uint8 `[h, w, 1 or 3]` as PNG."""
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def text_picture(strings: list[str], cols: int = 4, *, cell_chars: int | None = None
                 ) -> np.ndarray:
  """`strings` in columns (row by row), black on white, as uint8 `[h, w, 1]`."""
  font = ImageFont.load_default()
  cell_chars = cell_chars or max(map(len, strings), default=1) + 2
  left, top, right, bottom = font.getbbox("M" * cell_chars)
  cell_w, cell_h = right - left, bottom - top + 6
  rows = math.ceil(len(strings) / cols)
  image = Image.new("L", (cols * cell_w + 8, rows * cell_h + 8), 255)
  draw = ImageDraw.Draw(image)
  for i, string in enumerate(strings):
    r, c = divmod(i, cols)
    draw.text((4 + c * cell_w, 4 + r * cell_h), string, fill=0, font=font)
  return np.asarray(image)[..., None]


def canvas_picture(fig) -> np.ndarray:
  """A matplotlib figure as uint8 `[h, w, 3]`; closes it."""
  plt = pyplot()
  fig.tight_layout()
  fig.canvas.draw()
  picture = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
  plt.close(fig)
  return picture


def pyplot():
  """matplotlib.pyplot, without a display."""
  import matplotlib  # pylint: disable=g-import-not-at-top  Only the plots need it.
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def plot_metrics(jsonl_path: str, png_path: str, cols: int = 4) -> None:
  """Plots every metric of a `metrics.jsonl` against the step, one small panel each."""
  rows = [json.loads(line) for line in open(jsonl_path, encoding="utf-8") if line.strip()]
  names = sorted({k for row in rows for k in row if k != "step"})
  plt = pyplot()
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


def scatter_picture(samples: np.ndarray, centers: np.ndarray | None = None,
                    real: np.ndarray | None = None) -> np.ndarray:
  """Generated 2-D points `[n, 2]` (and `real` ones) with the mode `centers` marked, on
  axes fixed by the centres (so pictures of one run compare), as uint8 `[h, w, 3]`."""
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(5, 5))
  if real is not None:
    ax.scatter(real[:, 0], real[:, 1], s=2, alpha=0.3, color="tab:blue", label="real")
  ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.5, color="tab:orange",
             label=f"generated ({len(samples)})")
  if centers is not None:
    ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="black", label="modes")
    extent = 1.3 * float(np.max(np.abs(centers)))
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
  ax.set_aspect("equal")
  ax.grid(alpha=0.3)
  ax.legend(loc="upper right", fontsize=7)
  return canvas_picture(fig)

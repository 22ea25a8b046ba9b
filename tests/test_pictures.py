"""Sample grids readable at a glance, 2-D samples drawn over their modes."""

import numpy as np

from jaxgan import pictures
from jaxgan.tasks import mixture


def test_small_images_are_enlarged_by_nearest_neighbour():
  images = np.random.default_rng(0).uniform(-1, 1, (6, 16, 16, 1)).astype(np.float32)
  grid = pictures.image_grid(images, cols=3)
  assert grid.shape == (2 * 65 + 1, 3 * 65 + 1, 1)  # 16 px shown as 64 px, 1 px borders.
  first = grid[1:65, 1:65, 0]
  expected = np.round((images[0, ..., 0] + 1) * 127.5).astype(np.uint8)
  np.testing.assert_array_equal(first, np.repeat(np.repeat(expected, 4, 0), 4, 1))
  assert np.all(grid[0] == 128) and np.all(grid[:, 65] == 128)  # Grey lines between images.
  assert pictures.image_grid(np.zeros((4, 64, 64, 3))).shape == (2 * 65 + 1, 2 * 65 + 1, 3)


def _dark_pixels(picture: np.ndarray) -> int:
  return int(np.sum(picture.max(axis=-1) < 60))


def test_two_d_samples_are_drawn_over_the_mode_centres():
  centers = mixture.MIXTURES["ring8"][0]
  samples = mixture.mixture_dataset("ring8", 0).batch(0, 500)
  with_modes = pictures.scatter_picture(samples, centers)
  without = pictures.scatter_picture(samples)
  assert with_modes.dtype == np.uint8 and with_modes.ndim == 3 and with_modes.shape[2] == 3
  red, blue = with_modes[..., 0].astype(int), with_modes[..., 2].astype(int)
  assert np.sum((red > 200) & (blue < 150)) > 200  # The samples, in strong orange.
  assert _dark_pixels(with_modes) > _dark_pixels(without)  # The black mode markers.

"""Images of two domains for image-to-image translation, read from disk, from tfds, or made
from any image dataset.

Layouts of a folder `DIR` (config.dataset):

- paired, the pix2pix authors' format: `DIR/train/` (and `DIR/test/` or `DIR/val/`) holding
  images of A and B side by side, A on the left;
- paired, two folders: `DIR/trainA/` and `DIR/trainB/` (and `testA/`, `testB/`) whose files
  of the same name are a pair (`task_kwargs.paired=True`);
- unpaired, the CycleGAN authors' format: the same two folders, files not matched.

A pair is prepared once as two consecutive records of one prepared dataset
(jaxgan.prepared_images), so that a file that cannot be read drops its whole pair and
pairs stay aligned. A derived source (`DERIVED`) makes a paired task of any image dataset:
each image is the target of a source made from it (its edges, or it masked or blurred),
or, unpaired, the second domain is another half of the dataset restyled (thicker strokes).
"""

import concurrent.futures
import glob
import hashlib
import os
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from jaxgan import image_folder, prepared_images
from jaxgan.errors import DataError

# The authors' archives of their paired datasets (side by side, A on the left).
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
PIX2PIX_DATASETS = ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags",
                    "night2day")


def _grey(images: np.ndarray) -> np.ndarray:
  return images.astype(np.float32).mean(axis=-1, keepdims=True)


def _shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
  """`x [k, h, w, c]` moved by `(dy, dx)` pixels, edges repeated."""
  padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
  h, w = x.shape[1:3]
  return padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def edges(images: np.ndarray, indices: np.ndarray) -> np.ndarray:
  """White edges on black, where the Sobel gradient magnitude of each uint8 image
  `[k, h, w, c]` is above a quarter of its maximum (edges2shoes' sources, from the targets)."""
  del indices
  x = _grey(images)
  gx = sum(w * (_shifted(x, dy, 1) - _shifted(x, dy, -1)) for dy, w in ((-1, 1), (0, 2), (1, 1)))
  gy = sum(w * (_shifted(x, 1, dx) - _shifted(x, -1, dx)) for dx, w in ((-1, 1), (0, 2), (1, 1)))
  magnitude = np.hypot(gx, gy)
  peak = magnitude.max(axis=(1, 2, 3), keepdims=True)
  line = magnitude > 0.25 * np.maximum(peak, 1e-6)
  return np.repeat(np.where(line, 255, 0).astype(np.uint8), images.shape[-1], axis=-1)


def masked(images: np.ndarray, indices: np.ndarray, *, fraction: float = 0.5) -> np.ndarray:
  """Each image with a square of side `fraction * size` filled with mid-grey, at a place
  fixed by the image's index (inpainting's sources)."""
  out = images.copy()
  size = images.shape[1]
  side = max(1, round(fraction * size))
  for image, index in zip(out, indices):
    top, left = np.random.default_rng((7, int(index))).integers(0, size - side + 1, 2)
    image[top:top + side, left:left + side] = 128
  return out


def blurred(images: np.ndarray, indices: np.ndarray, *, factor: int = 4) -> np.ndarray:
  """Each image averaged over `factor` x `factor` blocks and enlarged back (restoration's
  sources: detail to bring back)."""
  del indices
  k, h, w, c = images.shape
  blocks = images.reshape(k, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
  return np.repeat(np.repeat(blocks, factor, 1), factor, 2).round().astype(np.uint8)


def thickened(images: np.ndarray, indices: np.ndarray) -> np.ndarray:
  """Each image's strokes made thicker: the largest value of each 3x3 neighbourhood (a grey
  dilation); a second domain of the same data, for unpaired translation."""
  del indices
  return np.max([_shifted(images, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


# Name (task_kwargs.derive) -> fn(uint8 images [k, h, w, c], their indices [k]) -> images.
DERIVED: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "edges": edges, "mask": masked, "blur": blurred, "thick": thickened}
# Those that make the second domain of an unpaired task; the others make paired sources.
UNPAIRED_DERIVED = ("thick",)


class PairedSource:
  """Pairs prepared as consecutive records: `read(indices)` gives uint8 `(a, b)`, each
  `[k, size, size, channels]`."""

  def __init__(self, source: prepared_images.PreparedSource):
    self.source = source

  def __len__(self) -> int:
    return len(self.source) // 2

  def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both, _ = self.source.read(np.stack([2 * indices, 2 * indices + 1], axis=1).reshape(-1))
    return both[0::2], both[1::2]


def _side_by_side(path: str, size: int) -> tuple[Image.Image, Image.Image]:
  with Image.open(path) as image:
    image = image_folder.rgb(image)
  width, height = image.size
  return (image_folder.square(image.crop((0, 0, width // 2, height)), size),
          image_folder.square(image.crop((width // 2, 0, width, height)), size))


def _two_files(path_a: str, path_b: str, size: int) -> tuple[Image.Image, Image.Image]:
  loaded = []
  for path in (path_a, path_b):
    with Image.open(path) as image:
      loaded.append(image_folder.square(image_folder.rgb(image), size))
  return loaded[0], loaded[1]


def _pair(name: str, load: Callable[[], tuple[Image.Image, Image.Image]]
          ) -> list[prepared_images.Loaded]:
  """The two records of one pair, or two skipped ones and why."""
  try:
    images = load()
  except Exception as e:  # pylint: disable=broad-except  Pillow raises many kinds.
    reason = f"{type(e).__name__}: {str(e)[:80]}" if str(e) else type(e).__name__
    return [prepared_images.Loaded(f"{name} ({side})", "", None, reason=reason)
            for side in "AB"]
  return [prepared_images.Loaded(f"{name} ({side})", "", np.asarray(image))
          for side, image in zip("AB", images)]


def _visible(folder: str) -> list[str]:
  return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def _prepare_pairs(root: str, split: str, pairs: list[tuple[str, Callable]], size: int,
                   prepared_root: str) -> PairedSource:
  digest = hashlib.sha1()
  for name, _ in pairs:
    digest.update(name.encode() + b"\n")
  for folder in {os.path.join(root, d) for d in os.listdir(root)}:
    digest.update(str(os.stat(folder).st_mtime_ns).encode())

  def load() -> Iterator[list[prepared_images.Loaded]]:
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
      for start in range(0, len(pairs), image_folder.CHUNK):
        chunk = pool.map(lambda pair: _pair(*pair), pairs[start:start + image_folder.CHUNK])
        yield [record for pair in chunk for record in pair]

  path = image_folder.prepared_path(os.path.join(root, split), size, prepared_root) + "-pairs"
  prepared = prepared_images.prepare(path, digest.hexdigest(), load, total=2 * len(pairs),
                                     description=f"Preparing the pairs of {root} ({split}) "
                                                 f"at {size}px", classes=[])
  return PairedSource(prepared_images.PreparedSource(prepared, size))


def paired_folder(root: str, split: str, *, size: int, prepared_root: str
                  ) -> PairedSource | None:
  """The pairs of `split` ("train", "test") of folder `root` in either paired layout, or None
  if it has no such split. DataError when two folders' file names do not match."""
  side_by_side = os.path.join(root, split)
  folder_a, folder_b = os.path.join(root, split + "A"), os.path.join(root, split + "B")
  if os.path.isdir(folder_a) and os.path.isdir(folder_b):
    names_a, names_b = _visible(folder_a), _visible(folder_b)
    if names_a != names_b:
      only = sorted(set(names_a) ^ set(names_b))[:5]
      raise DataError(f"Paired folders {folder_a} and {folder_b} must hold files of the same "
                      f"names; these are in one only: {', '.join(only)}. Remove them, or set "
                      f"task_kwargs.paired=False to train on unpaired images.")
    pairs = [(name, lambda name=name: _two_files(os.path.join(folder_a, name),
                                                 os.path.join(folder_b, name), size))
             for name in names_a]
  elif os.path.isdir(side_by_side):
    pairs = [(name, lambda name=name: _side_by_side(os.path.join(side_by_side, name), size))
             for name in _visible(side_by_side)]
  else:
    return None
  return _prepare_pairs(root, split, pairs, size, prepared_root)


def unpaired_folders(root: str, split: str, *, size: int, prepared_root: str
                     ) -> tuple[prepared_images.PreparedSource, ...] | None:
  """The images of domains A and B in `root/{split}A/` and `root/{split}B/`, or None if
  there are no such folders."""
  folders = [os.path.join(root, split + domain) for domain in "AB"]
  if not all(os.path.isdir(folder) for folder in folders):
    return None
  return tuple(image_folder.open_folder(folder, size=size, prepared_root=prepared_root)
               for folder in folders)


def pix2pix_folder(name: str, download_dir: str, *, download: bool) -> str | None:
  """The folder of the authors' paired dataset `name` (one of `PIX2PIX_DATASETS`), extracted
  in `download_dir` by an earlier download, or downloaded and extracted now by tfds' download
  manager if `download`; None if it is not there and may not be downloaded."""
  if name not in PIX2PIX_DATASETS:
    raise DataError(f"Unknown pix2pix dataset {name!r}. Known: {', '.join(PIX2PIX_DATASETS)}.")
  extracted = sorted(glob.glob(os.path.join(download_dir, "extracted", "*", name)))
  if extracted:
    return extracted[0]
  if not download:
    return None
  import tensorflow_datasets as tfds  # Only for users with internet.
  manager = tfds.download.DownloadManager(download_dir=download_dir,
                                          register_checksums=False)
  extracted = manager.download_and_extract(PIX2PIX_URL.format(name=name))
  return os.path.join(os.fspath(extracted), name)

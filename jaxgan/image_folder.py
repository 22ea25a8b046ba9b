"""A folder of image files as a dataset, prepared once for streaming (jaxgan.prepared_images).

Every file under the folder is tried (hidden ones aside): PNG, JPEG, WebP and whatever
else Pillow reads, in any size and mode. Each is converted to RGB (transparency laid over
white; one channel if every image of the folder is grey), centre-cropped to a square and
resized (`square`). Files that cannot be read as an image (corrupt, truncated, empty, not
images) are skipped, counted and the first few named. The top-level subfolders are the
classes. The prepared copy is `<prepared_root>/<folder name>-<hash of its path>-<size>px`,
made again when a file of the folder is added, removed or changed.
"""

import concurrent.futures
import hashlib
import os
from typing import Iterator

import numpy as np
from PIL import Image

from jaxgan import prepared_images
from jaxgan.errors import DataError

GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
TOP_LEVEL = "."  # The class of files directly in the folder, when it has subfolders too.
CHUNK = 256  # Files decoded at a time: memory stays bounded.


def square(image: Image.Image, size: int) -> Image.Image:
  """`image`'s centre square, resized to `size` x `size` (Lanczos when shrinking, bilinear
  when growing); nothing outside the square leaks in."""
  width, height = image.size
  side = min(width, height)
  left, top = (width - side) // 2, (height - side) // 2
  method = Image.Resampling.LANCZOS if side > size else Image.Resampling.BILINEAR
  return image.crop((left, top, left + side, top + side)).resize((size, size), method)


def rgb(image: Image.Image) -> Image.Image:
  """`image` in RGB, transparency laid over white."""
  if image.mode == "P" and "transparency" in image.info:
    image = image.convert("RGBA")
  if image.mode in ("RGBA", "LA", "PA"):
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
  return image.convert("RGB")


def _load(root: str, relative: str, class_name: str, size: int) -> prepared_images.Loaded:
  """The file `root/relative` as a square RGB image, or why it cannot be read."""
  try:
    with Image.open(os.path.join(root, relative)) as image:
      image.load()
      return prepared_images.Loaded(relative, class_name, np.asarray(square(rgb(image), size)),
                                    grey=image.mode in GREY_MODES)
  except Exception as e:  # pylint: disable=broad-except  Pillow raises many kinds.
    reason = f"{type(e).__name__}: {str(e)[:80]}" if str(e) else type(e).__name__
    return prepared_images.Loaded(relative, class_name, None, reason=reason)


def _files(root: str) -> list[tuple[str, str]]:
  """`(path relative to root, class)` of every non-hidden file under `root`, sorted."""
  found = []
  for folder, subfolders, names in os.walk(root):
    subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
    for name in sorted(names):
      if not name.startswith("."):
        relative = os.path.relpath(os.path.join(folder, name), root)
        parts = relative.split(os.sep)
        found.append((relative, parts[0] if len(parts) > 1 else TOP_LEVEL))
  return found


def _fingerprint(root: str, files: list[tuple[str, str]]) -> str:
  """A hash of every file's path, size and modification time."""
  digest = hashlib.sha1()
  for relative, _ in files:
    stat = os.stat(os.path.join(root, relative))
    digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
  return digest.hexdigest()


def prepared_path(root: str, size: int, prepared_root: str) -> str:
  """Where folder `root`'s images at `size` are prepared."""
  root = os.path.abspath(root)
  key = hashlib.sha1(root.encode()).hexdigest()[:10]
  return os.path.join(prepared_root, f"{os.path.basename(root)}-{key}-{size}px")


def open_folder(root: str, *, size: int, prepared_root: str) -> prepared_images.PreparedSource:
  """Folder `root`'s images at `size`, prepared in `prepared_root` on first use (decoded a
  chunk at a time on every core). DataError if it is not a folder or has no usable image."""
  if not os.path.isdir(root):
    raise DataError(f"{root!r} is not a folder of images (config.dataset names a folder when "
                    f"it holds a path separator).")
  files = _files(root)

  def load() -> Iterator[list[prepared_images.Loaded]]:
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
      for start in range(0, len(files), CHUNK):
        yield list(pool.map(lambda entry: _load(root, *entry, size), files[start:start + CHUNK]))

  prepared = prepared_images.prepare(
      prepared_path(root, size, prepared_root), _fingerprint(root, files), load,
      total=len(files), description=f"Preparing {root} at {size}px")
  return prepared_images.PreparedSource(prepared, size)

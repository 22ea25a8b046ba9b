"""Image datasets prepared once for streaming: square uint8 images of one size in an
ArrayRecord file, read at random by index through Grain's `ArrayRecordDataSource`.

A prepared dataset is a folder with `images.array_record` (each record an image's raw
RGB bytes, `size * size * 3`), `labels.npy` and `index.json` (count, channels, class
names, what was skipped, and the fingerprint of what it was made from: a different
fingerprint prepares it again). It is written under a temporary name and renamed when
complete, so an interrupted preparation leaves nothing a later run would take for done.
"""

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from typing import Callable, Iterable, NamedTuple

import grain
import numpy as np
import tqdm
from array_record.python import array_record_module

from jaxgan.errors import DataError

log = logging.getLogger(__name__)

SHOWN_SKIPPED = 5  # Skipped inputs named in the index and the log.


class Loaded(NamedTuple):
  """One input of a dataset being prepared: its name, its class, and its image (uint8
  `[size, size, 3]`, and whether it was grey), or None and why it could not be read."""
  name: str
  class_name: str
  image: np.ndarray | None
  grey: bool = False
  reason: str = ""


@dataclasses.dataclass(frozen=True)
class Prepared:
  """A prepared dataset: where, how many images, their channels (1 if every input was
  grey, else 3), the class names (empty: no classes) and each image's class, the inputs
  skipped (count, first few), and the fingerprint of what it was made from."""
  path: str
  count: int
  channels: int
  classes: tuple[str, ...]
  labels: np.ndarray
  num_skipped: int
  skipped: tuple[str, ...]
  fingerprint: str


def prepare(path: str, fingerprint: str, load: Callable[[], Iterable[list[Loaded]]], *,
            total: int, description: str, classes: list[str] | None = None) -> Prepared:
  """The dataset prepared at `path` from what has `fingerprint`, preparing it from the
  chunks `load()` yields (`total` inputs, shown as `description` on a progress bar) unless
  it already is. The class names are `classes`, or those of the images kept (none if only
  one). DataError if no input could be read."""
  prepared = read_index(path, fingerprint)
  if prepared is None:
    if os.path.exists(path):
      log.info("%s was made from something that changed since; preparing it again.", path)
    prepared = _write(path, fingerprint, load(), total=total, description=description,
                      classes=classes)
  if prepared.num_skipped:
    log.warning("Skipped %d of %d inputs that are not readable images: %s%s",
                prepared.num_skipped, prepared.count + prepared.num_skipped,
                "; ".join(prepared.skipped),
                "; ..." if prepared.num_skipped > SHOWN_SKIPPED else "")
  return prepared


def read_index(path: str, fingerprint: str) -> Prepared | None:
  """The dataset prepared at `path`, if it is, from what has `fingerprint`."""
  try:
    with open(os.path.join(path, "index.json")) as f:
      index = json.load(f)
    labels = np.load(os.path.join(path, "labels.npy"))
  except (OSError, ValueError):
    return None
  if index["fingerprint"] != fingerprint:
    return None
  return Prepared(path, index["count"], index["channels"], tuple(index["classes"]), labels,
                  index["num_skipped"], tuple(index["skipped"]), fingerprint)


def _write(path: str, fingerprint: str, chunks: Iterable[list[Loaded]], *, total: int,
           description: str, classes: list[str] | None) -> Prepared:
  """Writes the chunks' images into a new prepared dataset at `path`."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  staging = tempfile.mkdtemp(prefix=os.path.basename(path) + ".", dir=os.path.dirname(path))
  try:
    writer = array_record_module.ArrayRecordWriter(
        os.path.join(staging, "images.array_record"), "group_size:1")
    kept_classes, skipped, all_grey = [], [], True
    with tqdm.tqdm(total=total, desc=description, unit="image") as progress:
      for chunk in chunks:
        for loaded in chunk:
          if loaded.image is None:
            skipped.append(f"{loaded.name} ({loaded.reason})")
            continue
          writer.write(np.ascontiguousarray(loaded.image).tobytes())
          kept_classes.append(loaded.class_name)
          all_grey &= loaded.grey
        progress.update(len(chunk))
    writer.close()
    if not kept_classes:
      named = f": {'; '.join(skipped[:SHOWN_SKIPPED])}" if skipped else ""
      raise DataError(f"No readable image in {description.removeprefix('Preparing ')} "
                      f"({total} inputs{named}).")
    if classes is None:
      classes = sorted(set(kept_classes))
      classes = classes if len(classes) > 1 else []
    position = {name: i for i, name in enumerate(classes)}
    np.save(os.path.join(staging, "labels.npy"),
            np.array([position.get(name, 0) for name in kept_classes], np.int32))
    index = {"count": len(kept_classes), "channels": 1 if all_grey else 3, "classes": classes,
             "fingerprint": fingerprint, "num_skipped": len(skipped),
             "skipped": skipped[:SHOWN_SKIPPED]}
    with open(os.path.join(staging, "index.json"), "w") as f:
      json.dump(index, f, indent=1)
    if read_index(path, fingerprint) is None:  # Another process may have finished first.
      shutil.rmtree(path, ignore_errors=True)
      os.replace(staging, path)
    else:
      shutil.rmtree(staging)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  return read_index(path, fingerprint)


class PreparedSource:
  """A prepared dataset of `size` x `size` images read at random: `read(indices)` gives
  uint8 images `[k, size, size, channels]` and their classes `[k]`."""

  def __init__(self, prepared: Prepared, size: int):
    self.prepared, self.size = prepared, size
    self.records = grain.sources.ArrayRecordDataSource(
        os.path.join(prepared.path, "images.array_record"))

  def __len__(self) -> int:
    return self.prepared.count

  def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    records = [self.records[int(i)] for i in indices]  # A thread pool costs more here.
    images = np.frombuffer(b"".join(records), np.uint8).reshape(
        len(records), self.size, self.size, 3)
    return images[..., :self.prepared.channels], self.prepared.labels[indices]

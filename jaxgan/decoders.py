"""What a generator's raw outputs stand for, one decoder per kind of data: it turns samples
into what the kind writes and writes them as files. A task gives its own
(`Task.decoder()`); a trained generator carries it as JSON (`to_json`, `from_json`), so
that `jaxgan.load(...).sample(...)` decodes, and `python -m jaxgan.generate` writes,
without the task or its dataset."""

import dataclasses
import os
from typing import Any, Iterable

import numpy as np

from jaxgan import registry


def progress(items: Iterable, total: int, what: str, per_item: int = 1) -> Iterable:
  """`items` with a progress bar when they stand for 1,000 samples or more (`total`), each
  for `per_item` of them."""
  if total < 1000:
    return items
  from tqdm import tqdm  # pylint: disable=import-outside-toplevel
  return tqdm(items, total=-(-total // per_item), desc=what)


@dataclasses.dataclass(frozen=True)
class Decoder:
  """Raw outputs as they are (points of a 2-D mixture, your own kind's arrays), written as
  `samples.npy`."""

  def decode(self, samples: np.ndarray) -> Any:
    return np.asarray(samples)

  def write(self, decoded: Any, out_dir: str) -> list[str]:
    """Writes decoded samples into `out_dir`; returns the paths written."""
    path = os.path.join(out_dir, "samples.npy")
    np.save(path, decoded)
    return [path]

  def to_json(self) -> dict[str, Any]:
    cls = type(self)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", **dataclasses.asdict(self)}


def from_json(description: dict[str, Any]) -> Decoder:
  """The decoder `Decoder.to_json` described."""
  kwargs = dict(description)
  return registry.import_attribute(kwargs.pop("class"))(**kwargs)


def pixels(images: np.ndarray) -> np.ndarray:
  """Images `[n, h, w, c]` in [-1, 1] as uint8 `[n, h, w, c]`."""
  return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class Images(Decoder):
  """Images in [-1, 1] as uint8 `[n, h, w, c]`, written as `grid.png` (the first 256) and
  one PNG each."""

  def decode(self, samples: np.ndarray) -> np.ndarray:
    return pixels(samples)

  def write(self, decoded: np.ndarray, out_dir: str) -> list[str]:
    from jaxgan import pictures  # pylint: disable=import-outside-toplevel
    paths = [os.path.join(out_dir, "grid.png")]
    pictures.save_png(paths[0], pictures.tile(decoded[:256]))
    for i, image in progress(enumerate(decoded), len(decoded), "images"):
      paths.append(os.path.join(out_dir, f"{i:06d}.png"))
      pictures.save_png(paths[-1], image)
    return paths


@dataclasses.dataclass(frozen=True)
class Strings(Decoder):
  """One-hot (or scored) sequences `[n, length, vocabulary]` as strings `[n]`, written one
  a line to `samples.txt`."""
  vocabulary: str

  def decode(self, samples: np.ndarray) -> np.ndarray:
    from jaxgan import text  # pylint: disable=import-outside-toplevel
    return np.asarray(text.decode(samples, self.vocabulary), dtype=object)

  def write(self, decoded: np.ndarray, out_dir: str) -> list[str]:
    path = os.path.join(out_dir, "samples.txt")
    with open(path, "w", encoding="utf-8") as f:
      f.write("\n".join(decoded) + "\n")
    return [path]


@dataclasses.dataclass(frozen=True)
class Clips(Decoder):
  """Clips `[n, length, 1]` as float32 waveforms `[n, length]` in [-1, 1] at `sample_rate`
  Hz, written as one WAV file each."""
  sample_rate: int

  def decode(self, samples: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(samples, np.float32)[..., 0], -1.0, 1.0)

  def write(self, decoded: np.ndarray, out_dir: str) -> list[str]:
    from jaxgan import audio  # pylint: disable=import-outside-toplevel
    paths = []
    for i, clip in progress(enumerate(decoded), len(decoded), "clips"):
      paths.append(os.path.join(out_dir, f"{i:06d}.wav"))
      audio.write_wav(paths[-1], clip[None, :, None], self.sample_rate)
    return paths


@dataclasses.dataclass(frozen=True)
class Rows(Decoder):
  """Encoded rows `[n, width]` as a pandas DataFrame of `n` rows, from the `columns`'
  encodings and the data's `dtypes` (jaxgan.tabular), written to `samples.csv`."""
  columns: tuple
  dtypes: dict

  def decode(self, samples: np.ndarray) -> Any:
    from jaxgan import tabular  # pylint: disable=import-outside-toplevel
    return tabular.decode_rows(tabular.columns_from_json(self.columns), self.dtypes, samples)

  def write(self, decoded: Any, out_dir: str) -> list[str]:
    path = os.path.join(out_dir, "samples.csv")
    decoded.to_csv(path, index=False)
    return [path]

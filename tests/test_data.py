import glob
import os
import time

import numpy as np
import pytest

from configs import default
from jaxgan import data, sklearn_digits
from jaxgan.tasks import images, mixture


def _digits(data_dir, seed: int = 0, **fields):
  return _images(dataset="sklearn_digits", seed=seed, data_dir=data_dir, **fields)


def _images(**fields):
  config = default.base_config()
  for name, value in fields.items():
    config[name] = value
  return images.build(config).dataset


@pytest.fixture(scope="module")
def digits(data_dir):
  return _digits(data_dir)


def test_digits_through_tfds_shapes_and_range(digits, data_dir):
  assert digits.data_shape == (16, 16, 1)
  batch = digits.batch(0, 32)
  assert batch.shape == (32, 16, 16, 1) and batch.dtype == np.float32
  assert batch.min() == -1.0 and batch.max() == 1.0
  assert len(images.read("sklearn_digits", split="train", data_dir=data_dir)) == 1437
  assert len(images.read("sklearn_digits", split="test", data_dir=data_dir)) == 360


def test_batches_are_a_function_of_seed_and_step(digits, data_dir):
  again = _digits(data_dir)
  other_seed = _digits(data_dir, seed=1)
  np.testing.assert_array_equal(digits.batch(7, 16), again.batch(7, 16))
  assert not np.array_equal(digits.batch(7, 16), other_seed.batch(7, 16))
  assert not np.array_equal(digits.batch(7, 16), digits.batch(8, 16))


def test_each_epoch_shows_every_image_once():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  dataset = data.array_dataset("toy", images, seed=3)
  # Batches of 4 cross epoch boundaries: steps 0-4 cover epochs 0 and 1 exactly.
  values = np.concatenate([dataset.batch(s, 4).ravel() for s in range(5)])
  values = np.round((values + 1) * 127.5).astype(int)
  assert sorted(values[:10]) == list(range(10)) and sorted(values[10:]) == list(range(10))
  assert list(values[:10]) != list(values[10:])  # A fresh shuffle each epoch.


def test_resize_is_bilinear_and_keeps_constant_images():
  images = np.full((2, 8, 8, 1), 200, np.uint8)
  resized = data.resize_images(images, 28)
  assert resized.shape == (2, 28, 28, 1) and np.all(resized == 200)


@pytest.mark.parametrize("name,modes", [("ring8", 8), ("grid25", 25)])
def test_mixtures(name, modes):
  dataset = mixture.mixture_dataset(name, seed=0)
  centers, std = mixture.MIXTURES[name]
  assert centers.shape == (modes, 2) and dataset.data_shape == (2,)
  points = dataset.batch(0, 4000)
  distance = np.min(np.linalg.norm(points[:, None] - centers[None], axis=-1), axis=1)
  assert np.all(distance < 6 * std)
  nearest = np.argmin(np.linalg.norm(points[:, None] - centers[None], axis=-1), axis=1)
  assert len(np.unique(nearest)) == modes


def test_missing_dataset_says_how_to_prepare_it(tmp_path):
  with pytest.raises(ValueError, match="'mnist' is not prepared.*--config.download=True"):
    _images(dataset="mnist", data_dir=str(tmp_path))


def test_unknown_dataset_lists_the_known_ones(tmp_path):
  with pytest.raises(ValueError, match="Unknown dataset 'nist'. Known: sklearn_digits, mnist.*"
                                       "--config.task"):
    _images(dataset="nist", data_dir=str(tmp_path))


def test_download_without_tensorflow_fails_at_once(monkeypatch, tmp_path):
  real_find_spec = data.importlib.util.find_spec
  monkeypatch.setattr(data.importlib.util, "find_spec",
                      lambda name: None if name == "tensorflow" else real_find_spec(name))
  with pytest.raises(ValueError, match=r"Preparing 'mnist' needs TensorFlow, which is not "
                                       r"installed: run `.venv/bin/pip install '.\[datasets\]'`"):
    _images(dataset="mnist", data_dir=str(tmp_path / "tfds"), download=True)
  assert not os.path.exists(tmp_path / "tfds")


def test_download_without_internet_fails_within_seconds(monkeypatch, tmp_path):
  monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: object())  # "Installed".
  monkeypatch.setattr(data, "DOWNLOAD_HOST", ("host.invalid", 443))  # Never resolves.
  start = time.monotonic()
  with pytest.raises(ValueError, match="Cannot download 'mnist': host.invalid is out of reach"):
    _images(dataset="mnist", data_dir=str(tmp_path / "tfds"), download=True)
  assert time.monotonic() - start < 10
  assert not os.path.exists(tmp_path / "tfds")


def test_a_failed_preparation_leaves_nothing_behind(monkeypatch, tmp_path):
  def fail(self, dl_manager):
    raise ConnectionError("the network went away")
  monkeypatch.setattr(sklearn_digits.SklearnDigits, "_split_generators", fail)
  with pytest.raises(ConnectionError):
    _digits(str(tmp_path / "tfds"))
  assert not os.path.exists(tmp_path / "tfds")
  (tmp_path / "kept").mkdir()  # A data dir that existed stays, emptied of what was made.
  with pytest.raises(ConnectionError):
    _digits(str(tmp_path / "kept"))
  assert os.listdir(tmp_path / "kept") == []


def _damage(data_dir) -> str:
  """Flips bytes in the middle of the prepared digits' train file; returns its folder."""
  (path,) = glob.glob(os.path.join(data_dir, "sklearn_digits", "*",
                                   "sklearn_digits-train.array_record-*"))
  contents = bytearray(open(path, "rb").read())
  contents[2000:2100] = bytes(b ^ 0xFF for b in contents[2000:2100])
  open(path, "wb").write(bytes(contents))
  return os.path.dirname(path)


def test_damaged_bundled_digits_are_prepared_again(tmp_path, caplog):
  intact = images.read("sklearn_digits", split="train", data_dir=str(tmp_path))
  folder = _damage(tmp_path)
  again = images.read("sklearn_digits", split="train", data_dir=str(tmp_path))
  np.testing.assert_array_equal(again, intact)
  assert f"The prepared files of 'sklearn_digits' in {folder} cannot be read" in caplog.text
  assert "preparing it again" in caplog.text


def test_a_damaged_downloaded_dataset_names_its_folder_and_the_fix(tmp_path, monkeypatch):
  images.read("sklearn_digits", split="train", data_dir=str(tmp_path))
  folder = _damage(tmp_path)
  # Treated like mnist: never re-made silently.
  monkeypatch.setattr(sklearn_digits.SklearnDigits, "prepared_offline", False)
  with pytest.raises(ValueError, match=f"in {folder} cannot be read .*Corrupted.*Delete {folder} "
                                       f"and prepare the dataset again"):
    images.read("sklearn_digits", split="train", data_dir=str(tmp_path))

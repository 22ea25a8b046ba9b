"""A folder of image files as a dataset: prepared once (bad files skipped, every size and
mode converted), streamed a batch at a time, trained on from the command line."""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan import image_folder, tasks, trainer
from jaxgan.errors import ConfigError, DataError
from jaxgan.tasks import images as images_task

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_folder(root, *, broken: bool = True, grey_only: bool = False) -> int:
  """Two classes of images in mixed sizes, modes and formats, some files broken on purpose;
  returns how many are readable."""
  rng = np.random.default_rng(0)
  for name in ("cats", "dogs"):
    os.makedirs(os.path.join(root, name), exist_ok=True)
  count = 0
  for i in range(6):
    grey = Image.fromarray(rng.integers(0, 255, (20 + 3 * i, 30), dtype=np.uint8))
    grey.save(os.path.join(root, "cats", f"{i}.jpg"))
    colour = Image.fromarray(rng.integers(0, 255, (24, 18 + 4 * i, 3), dtype=np.uint8))
    if grey_only:
      colour = colour.convert("L")
    colour.save(os.path.join(root, "dogs", f"{i}.png"))
    count += 2
  if not grey_only:
    Image.fromarray(rng.integers(0, 255, (16, 16, 4), dtype=np.uint8)).save(
        os.path.join(root, "dogs", "alpha.png"))
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(
        os.path.join(root, "dogs", "photo.webp"))
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).convert("P").save(
        os.path.join(root, "cats", "palette.gif"))
    count += 3
  if broken:
    open(os.path.join(root, "cats", "empty.png"), "wb").close()
    with open(os.path.join(root, "dogs", "notes.txt"), "w") as f:
      f.write("not an image")
    whole = open(os.path.join(root, "cats", "0.jpg"), "rb").read()
    with open(os.path.join(root, "cats", "truncated.jpg"), "wb") as f:
      f.write(whole[:len(whole) // 2])
    with open(os.path.join(root, "dogs", "corrupt.png"), "wb") as f:
      f.write(b"\x89PNG\r\n\x1a\n" + bytes(200))
  return count


def _open(root, tmp_path, size: int = 16):
  return image_folder.open_folder(str(root), size=size, prepared_root=str(tmp_path / "prepared"))


def test_a_folder_is_prepared_with_its_classes_and_bad_files_skipped_and_named(tmp_path, caplog):
  readable = _write_folder(tmp_path / "images")
  with caplog.at_level(logging.WARNING):
    source = _open(tmp_path / "images", tmp_path)
  assert len(source) == readable == 15
  assert source.prepared.classes == ("cats", "dogs") and source.prepared.channels == 3
  assert source.prepared.num_skipped == 4
  assert "Skipped 4 of 19 inputs that are not readable images: cats/empty.png" in caplog.text
  for name in ("cats/truncated.jpg", "dogs/corrupt.png", "dogs/notes.txt"):
    assert name in caplog.text
  images, labels = source.read(np.arange(len(source)))
  assert images.shape == (15, 16, 16, 3) and images.dtype == np.uint8
  assert sorted(labels.tolist()) == [0] * 7 + [1] * 8


def test_grey_folders_keep_one_channel(tmp_path):
  _write_folder(tmp_path / "grey", broken=False, grey_only=True)
  source = _open(tmp_path / "grey", tmp_path)
  assert source.prepared.channels == 1 and source.read(np.arange(3))[0].shape == (3, 16, 16, 1)


def test_images_are_centre_cropped_and_transparency_is_laid_over_white(tmp_path):
  os.makedirs(tmp_path / "wide")
  thirds = np.zeros((20, 60, 3), np.uint8)
  thirds[:, :20, 0] = thirds[:, 40:, 2] = 255
  thirds[:, 20:40, 1] = 255  # Red | green | blue: the centre square is green.
  Image.fromarray(thirds).save(tmp_path / "wide" / "thirds.png")
  Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(tmp_path / "wide" / "clear.png")
  images, _ = _open(tmp_path / "wide", tmp_path, size=10).read(np.arange(2))
  by_name = dict(zip(sorted(["clear", "thirds"]), images))
  np.testing.assert_array_equal(by_name["thirds"][..., 1], 255)
  np.testing.assert_array_equal(by_name["thirds"][..., [0, 2]], 0)
  np.testing.assert_array_equal(by_name["clear"], 255)  # Fully transparent: white.


def test_a_folder_with_no_readable_image_is_a_one_line_error(tmp_path):
  os.makedirs(tmp_path / "junk")
  (tmp_path / "junk" / "a.png").write_bytes(b"")
  (tmp_path / "junk" / "b.txt").write_text("hello")
  with pytest.raises(DataError) as e:
    _open(tmp_path / "junk", tmp_path)
  message = str(e.value)
  assert "\n" not in message and message.startswith(f"No readable image in {tmp_path / 'junk'}")
  assert "a.png" in message and not os.listdir(tmp_path / "prepared")  # Nothing half-made.
  with pytest.raises(DataError, match="is not a folder of images"):
    _open(tmp_path / "nowhere", tmp_path)


def test_a_prepared_folder_is_read_again_without_decoding_until_it_changes(tmp_path, monkeypatch):
  _write_folder(tmp_path / "images", broken=False)
  first = _open(tmp_path / "images", tmp_path)
  decoded = []
  real_load = image_folder._load
  monkeypatch.setattr(image_folder, "_load", lambda *a: decoded.append(a) or real_load(*a))
  again = _open(tmp_path / "images", tmp_path)
  assert decoded == [] and again.prepared.fingerprint == first.prepared.fingerprint
  Image.fromarray(np.zeros((9, 9), np.uint8)).save(tmp_path / "images" / "cats" / "new.png")
  changed = _open(tmp_path / "images", tmp_path)
  assert len(changed) == len(first) + 1 and len(decoded) == len(changed)


def test_an_interrupted_preparation_leaves_nothing_behind(tmp_path, monkeypatch):
  _write_folder(tmp_path / "images", broken=False)
  calls = []

  def interrupted(*args):
    calls.append(args)
    if len(calls) > 5:
      raise KeyboardInterrupt
    return real_load(*args)

  real_load = image_folder._load
  monkeypatch.setattr(image_folder, "_load", interrupted)
  with pytest.raises(KeyboardInterrupt):
    _open(tmp_path / "images", tmp_path)
  assert os.listdir(tmp_path / "prepared") == []


def _folder_config(digits_config, folder, tmp_path):
  digits_config.dataset = str(folder)
  digits_config.data_dir = str(tmp_path / "tfds")
  return digits_config


def test_batches_stream_from_the_folder_as_a_function_of_seed_and_step(digits_config, tmp_path):
  _write_folder(tmp_path / "images", broken=False)
  config = _folder_config(digits_config, tmp_path / "images", tmp_path)
  config.conditional = True
  config.task_kwargs.mirror = True
  task = tasks.from_config(config)
  assert task.spec.num_classes == 2 and task.dataset.data_shape == (16, 16, 3)
  images, labels = task.dataset.batch(3, 8)
  again = tasks.from_config(config).dataset.batch(3, 8)
  np.testing.assert_array_equal(images, again[0])
  np.testing.assert_array_equal(labels, again[1])
  rows = np.array([1, 5, 6])  # A process's share is those rows of the same batch.
  np.testing.assert_array_equal(task.dataset.batch(3, 8, rows)[0], images[rows])
  assert images.min() >= -1 and images.max() <= 1
  # Mirrored: an epoch is twice the folder, each image once as it is and once mirrored.
  epoch = np.concatenate([task.dataset.batch(step, 5)[0] for step in range(6)])
  originals = (task.source.read(np.arange(15))[0].astype(np.float32) / 127.5 - 1)
  flat = {image.tobytes() for image in epoch}
  assert all(o.tobytes() in flat and o[:, ::-1].tobytes() in flat for o in originals)


def test_a_conditional_gan_needs_subfolders(digits_config, tmp_path):
  os.makedirs(tmp_path / "flat")
  for i in range(3):
    Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / "flat" / f"{i}.png")
  config = _folder_config(digits_config, tmp_path / "flat", tmp_path)
  config.conditional = True
  with pytest.raises(ConfigError, match="has no subfolders to be its classes"):
    tasks.from_config(config)


def test_training_on_an_unlabelled_folder_goes_on_without_evaluations(digits_config, tmp_path,
                                                                     caplog):
  os.makedirs(tmp_path / "flat")
  for i in range(5):
    Image.fromarray(np.full((12, 9, 3), 40 * i, np.uint8)).save(tmp_path / "flat" / f"{i}.png")
  config = _folder_config(digits_config, tmp_path / "flat", tmp_path)
  config.eval_every_steps = 2
  with caplog.at_level(logging.WARNING):
    state = trainer.train_and_evaluate(config, str(tmp_path / "run"))
  assert int(state.step) == 4
  assert "Training without evaluations" in caplog.text and "eval_features=inception" in caplog.text


@pytest.mark.slow
def test_train_py_trains_on_a_folder(tmp_path):
  _write_folder(tmp_path / "images")
  workdir = tmp_path / "run"
  result = subprocess.run(
      [sys.executable, "train.py", f"--config.dataset={tmp_path / 'images'}",
       "--config.image_size=8", f"--config.data_dir={tmp_path / 'tfds'}",
       "--config.num_train_steps=4", "--config.batch_size=8", "--config.log_every_steps=2",
       "--config.eval_every_steps=4", "--config.eval_num_samples=64",
       f"--config.eval_cache_dir={tmp_path / 'cache'}", "--workdir", str(workdir)],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Skipped 4 of 19 inputs" in result.stderr
  rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  assert rows[-1]["step"] == 4 and "eval/fd_classifier" in rows[-1]
  assert 0 <= rows[0]["input_wait"] < 1
  (prepared,) = os.listdir(tmp_path / "tfds" / "jaxgan_prepared")
  assert prepared.startswith("images-") and prepared.endswith("-8px")


def test_limited_data_takes_a_fixed_part_of_the_split_or_k_images_a_class(digits_config):
  labels = np.repeat(np.arange(3), [5, 7, 9])
  chosen = images_task.rows_per_class(labels, 4, seed=1)
  assert np.bincount(labels[chosen]).tolist() == [4, 4, 4]
  np.testing.assert_array_equal(chosen, images_task.rows_per_class(labels, 4, seed=1))
  assert not np.array_equal(chosen, images_task.rows_per_class(labels, 4, seed=2))
  assert len(images_task.training_rows(1437, 0.1)) == 144

  digits_config.conditional = True
  digits_config.task_kwargs.per_class = 2
  task = tasks.from_config(digits_config)
  seen = np.concatenate([task.dataset.batch(step, 5)[1] for step in range(8)])
  assert np.bincount(seen).tolist() == [4] * 10  # 20 images, each read twice in 40.

"""A trained generator as an object: `jaxgan.load` from a workdir or an exported file,
sampling, truncation, interpolation, and the export, generate and summary commands.
Each kind of data's end-to-end test also samples its workdir through `jaxgan.load`."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

import jaxgan
from configs import stylegan2_digits
from jaxgan import evaluation, generator, trainer
from jaxgan.state import sample_latents

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                        timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, data_dir):
  """A tiny conditional DCGAN with an EMA generator, trained 4 steps on the digits."""
  from conftest import _tiny_run  # pylint: disable=import-outside-toplevel

  from configs import default  # pylint: disable=import-outside-toplevel
  config = default.base_config()
  config.data_dir, config.latent_dim, config.conditional = data_dir, 8, True
  config.generator.features, config.discriminator.features = (16, 8), (8, 16)
  config.g_ema_decay = 0.9
  config = _tiny_run(config, num_samples=10)
  path = str(tmp_path_factory.mktemp("generator") / "run")
  trainer.train_and_evaluate(config, path)
  return path


def test_a_workdir_samples_its_ema_generator_as_the_evaluation_does(workdir):
  g = jaxgan.load(workdir)
  assert g.step == 4 and g.num_classes == 10
  images = g.sample(12, seed=3)
  assert images.shape == (12, 16, 16, 1) and images.dtype == np.uint8 and images.std() > 0
  gan = trainer.build_gan(g.config, g.spec)
  state = trainer.checkpointing.restore_or_init(
      trainer.checkpointing.make_manager(workdir, create=False),
      jaxgan.init_state(gan, jax.random.key(0), (16, 16, 1)), g.config)
  expected, labels = evaluation.sample(gan, state.sampler, jax.random.key(3), 12)
  np.testing.assert_array_equal(g.outputs(g.latents(12, 3), g.labels(12), seed=3), expected)
  np.testing.assert_array_equal(labels, np.arange(12) % 10)
  assert not np.array_equal(images, g.sample(12, seed=4))
  sevens = g.sample(4, seed=3, labels=7)
  assert not np.array_equal(sevens, images[:4])
  with pytest.raises(ValueError, match=r"Labels must be in \[0, 10\)"):
    g.sample(2, labels=10)


def test_truncation_pulls_latents_toward_the_mean_and_threshold_bounds_them(workdir):
  g = jaxgan.load(workdir)
  latents = g.latents(6, 0)
  labels = g.labels(6, 2)
  np.testing.assert_array_equal(g.outputs(latents, labels, truncation=0.5),
                                g.outputs(0.5 * latents, labels))
  mean = g.outputs(latents, labels, truncation=0.0)  # Every latent at the mean: one image.
  np.testing.assert_array_equal(mean, np.broadcast_to(mean[:1], mean.shape))
  bounded = g.latents(200, 0, threshold=0.5)
  assert float(np.max(np.abs(bounded))) <= 0.5 and float(np.std(bounded)) > 0.1
  with pytest.raises(ValueError, match="truncation must be in"):
    g.sample(2, truncation=1.5)


def test_interpolation_runs_from_one_seeds_sample_to_the_others(workdir):
  g = jaxgan.load(workdir)
  path = g.interpolate((1, 2), steps=5, label=3)
  assert path.shape == (5, 16, 16, 1)
  ends = [g.outputs(g.latents(1, seed), g.labels(1, 3), seed=1) for seed in (1, 2)]
  raw = g.outputs(np.stack([g.latents(1, 1)[0], g.latents(1, 2)[0]]), g.labels(2, 3), seed=1)
  np.testing.assert_allclose(raw, np.concatenate(ends), atol=1e-6)
  np.testing.assert_array_equal(path[[0, -1]], g.decode(raw))


def test_export_writes_one_file_that_samples_bit_for_bit_as_the_workdir(workdir, tmp_path):
  out = str(tmp_path / "digits.jaxgan")
  result = _run("jaxgan.export", "--workdir", workdir, out)
  assert result.returncode == 0, result.stderr
  assert f"Wrote {out}" in result.stdout and "at step 4" in result.stdout
  from_file, from_workdir = jaxgan.load(out), jaxgan.load(workdir)
  assert from_file.config.to_dict() == from_workdir.config.to_dict()
  for kwargs in ({"seed": 0}, {"seed": 5, "truncation": 0.7, "labels": 1}):
    np.testing.assert_array_equal(from_file.sample(20, **kwargs),
                                  from_workdir.sample(20, **kwargs))
  assert jaxgan.load(workdir, step=2).step == 2
  with pytest.raises(FileNotFoundError, match="No checkpoint of step 3"):
    jaxgan.load(workdir, step=3)
  (tmp_path / "not_a_generator").write_bytes(b"\x81\xa1a\x01")
  with pytest.raises(ValueError, match="is not a jaxgan generator file"):
    jaxgan.load(str(tmp_path / "not_a_generator"))


def test_generate_writes_a_grid_and_one_file_a_sample(workdir, tmp_path):
  out = tmp_path / "out"
  result = _run("jaxgan.generate", workdir, "--num", "12", "--truncation", "0.7",
                "--label", "4", "--out", str(out))
  assert result.returncode == 0, result.stderr
  assert sorted(os.listdir(out)) == [f"{i:06d}.png" for i in range(12)] + ["grid.png"]
  first = np.asarray(Image.open(out / "000000.png"))
  expected = jaxgan.load(workdir).sample(12, truncation=0.7, labels=4)[0]
  np.testing.assert_array_equal(first, expected[..., 0])
  assert np.asarray(Image.open(out / "grid.png")).shape == (3 * 65 + 1, 4 * 65 + 1)
  missing = _run("jaxgan.generate", str(tmp_path / "nothing"), "--out", str(out))
  assert missing.returncode != 0 and "neither a workdir nor a generator file" in missing.stderr


def test_a_workdir_without_generator_json_asks_the_data(workdir, tmp_path):
  copy = tmp_path / "old"
  subprocess.run(["cp", "-r", workdir, str(copy)], check=True)
  os.remove(copy / generator.DESCRIPTION_FILE)
  np.testing.assert_array_equal(jaxgan.load(str(copy)).sample(3), jaxgan.load(workdir).sample(3))
  with open(os.path.join(workdir, generator.DESCRIPTION_FILE)) as f:
    described = json.load(f)
  assert described["spec"]["shape"] == [16, 16, 1] and described["spec"]["num_classes"] == 10
  assert described["decoder"] == {"class": "jaxgan.decoders:Images"}


def test_stylegan2_truncates_toward_its_mean_w(tmp_path, data_dir):
  config = stylegan2_digits.get_config()
  config.data_dir, config.latent_dim = data_dir, 8
  config.generator.update({"w_dim": 8, "channel_base": 64, "channel_max": 8})
  config.discriminator.update({"channel_base": 64, "channel_max": 8})
  from conftest import _tiny_run  # pylint: disable=import-outside-toplevel
  config = _tiny_run(config, num_samples=4)
  trainer.train_and_evaluate(config, str(tmp_path))
  g = jaxgan.load(str(tmp_path))
  w_avg = g.batch_stats["w_avg"]
  assert np.any(w_avg)  # Tracked in training (EMA generator's copy).
  latents = g.latents(4, 0)
  np.testing.assert_array_equal(g.outputs(latents, truncation=0.5),
                                g.outputs(latents, truncation=0.5))
  mean_images = g.outputs(latents, truncation=0.0)  # One w: the images differ by noise alone.
  plain = g.outputs(latents)
  assert float(np.std(mean_images, axis=0).mean()) < float(np.std(plain, axis=0).mean())


def test_summary_prints_each_networks_parameters_without_the_data():
  result = _run("jaxgan.summary", "--config", os.path.join(ROOT, "configs",
                                                            "stylegan2_digits.py"),
                "--data_shape", "16,16,1")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[:3] == ["stylegan2 on data of shape (16, 16, 1):",
                       "generator: 227,464 parameters", "discriminator: 259,201 parameters"]
  assert "StyleGAN2Generator Summary" in result.stdout and "mapping_network" in result.stdout
  conditional = _run("jaxgan.summary", "--config", os.path.join(ROOT, "configs", "default.py"),
                     "--data_shape", "16,16,1", "--num_classes", "10",
                     "--config.conditional=True")
  assert conditional.returncode == 0, conditional.stderr
  assert "10 classes" in conditional.stdout and "class_embedding" in conditional.stdout


def test_latents_are_those_of_the_training_code(workdir):
  g = jaxgan.load(workdir)
  gan = trainer.build_gan(g.config, g.spec)
  np.testing.assert_array_equal(g.latents(5, 9), sample_latents(gan, jax.random.key(9), 5))

"""Class-conditional GANs: models, data, the step, sample grids and evaluation."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxgan import (
  data,
  evaluate,
  evaluation,
  init_state,
  metrics,
  models,
  pictures,
  tasks,
  train_step,
  trainer,
)
from jaxgan.tasks import images as images_task
from jaxgan.tasks import mixture


@pytest.mark.parametrize("pair, data_shape", [("mlp", (2,)), ("dcgan", (16, 16, 1))])
def test_conditional_models_depend_on_the_label(pair, data_shape):
  generator_kwargs = {"features": (16, 8)} if pair == "dcgan" else {}
  generator = models.get(pair).generator(data_shape=data_shape, num_classes=3,
                                         **generator_kwargs)
  discriminator = models.get(pair).discriminator(num_classes=3)
  latents = jnp.tile(jax.random.normal(jax.random.key(0), (1, 8)), (3, 1))
  labels = jnp.arange(3)
  g_vars = generator.init(jax.random.key(1), latents, labels, train=False)
  samples = generator.apply(g_vars, latents, labels, train=False)
  assert samples.shape == (3, *data_shape)
  assert not np.allclose(samples[0], samples[1])  # Same latent, other class.

  same_samples = jnp.tile(samples[:1], (3,) + (1,) * len(data_shape))
  d_vars = discriminator.init(jax.random.key(2), same_samples, labels, train=False)
  logits = discriminator.apply(d_vars, same_samples, labels, train=False)
  assert logits.shape == (3,) and len(np.unique(np.asarray(logits))) == 3
  with pytest.raises(ValueError, match="conditional on 3 classes: pass labels"):
    discriminator.apply(d_vars, same_samples, train=False)


def test_labelled_batches_match_their_samples(data_dir, make_task):
  digits = make_task(image_size=8, data_dir=data_dir, conditional=True).dataset
  assert digits.num_classes == 10
  images, labels = digits.batch(3, 32)
  assert images.shape == (32, 8, 8, 1) and labels.shape == (32,) and labels.dtype == np.int32
  plain = make_task(image_size=8, data_dir=data_dir).dataset
  np.testing.assert_array_equal(images, plain.batch(3, 32))  # Same order with or without labels.
  all_images, all_labels = images_task.read("sklearn_digits", split="train", data_dir=data_dir,
                                             with_labels=True)
  for image, label in zip(data.to_model_range(all_images), all_labels):
    matches = np.all(images == image, axis=(1, 2, 3))
    np.testing.assert_array_equal(labels[matches], label)

  points, modes = mixture.mixture_dataset("ring8", 0, with_labels=True).batch(0, 500)
  centers, _ = mixture.MIXTURES["ring8"]
  np.testing.assert_array_equal(metrics.nearest_mode(points, centers), modes)


def test_a_dataset_without_labels_cannot_be_conditional(monkeypatch):
  builder = images_task.builder("sklearn_digits", None)
  no_labels = tfds.features.FeaturesDict({"image": builder.info.features["image"]})
  monkeypatch.setattr(type(builder.info), "features", property(lambda self: no_labels))
  with pytest.raises(ValueError, match="has no class labels.*conditional=False"):
    data.num_classes(builder)


def _conditional_ring(ring_config):
  ring_config.conditional = True
  task = tasks.from_config(ring_config)
  dataset = task.dataset
  gan = trainer.build_gan(ring_config, task.spec)
  return gan, dataset, init_state(gan, jax.random.key(0), dataset.data_shape)


def test_conditional_step_trains_and_checks_its_batches(ring_config):
  gan, dataset, state = _conditional_ring(ring_config)
  assert gan.num_classes == 8
  step = jax.jit(functools.partial(train_step, gan))
  new_state, metrics = step(state, dataset.batch(0, 8), jax.random.key(1))
  assert all(np.isfinite(v) for v in jax.device_get(metrics).values())
  embedding = "class_embedding"
  assert not np.array_equal(state.d.params[embedding]["embedding"],
                            new_state.d.params[embedding]["embedding"])
  with pytest.raises(ValueError, match="conditional GAN takes batches of \\(samples, labels\\)"):
    step(state, dataset.batch(0, 8)[0], jax.random.key(1))


def test_conditional_generator_learns_the_modes(ring_config):
  """A few hundred steps on the ring: samples land on the mode they were asked for far more
  often than chance (1/8)."""
  ring_config.generator.hidden_dims = ring_config.discriminator.hidden_dims = (64, 64)
  gan, dataset, state = _conditional_ring(ring_config)
  step = jax.jit(functools.partial(train_step, gan))
  for i in range(400):
    state, _ = step(state, dataset.batch(i, 64), jax.random.key(1))
  samples, labels = evaluation.sample(gan, state.g, jax.random.key(2), 800)
  np.testing.assert_array_equal(labels, np.arange(800) % 8)
  centers, _ = mixture.MIXTURES["ring8"]
  assert np.mean(metrics.nearest_mode(samples, centers) == labels) > 0.6


def test_grid_has_one_row_per_class_with_shared_latents(ring_config):
  gan, _, _ = _conditional_ring(ring_config)
  latents, labels = evaluation.grid_inputs(gan, jax.random.key(0), 20)
  assert latents.shape == (16, gan.latent_dim)  # 2 columns of 8 classes.
  np.testing.assert_array_equal(labels, np.repeat(np.arange(8), 2))
  np.testing.assert_array_equal(latents[:2], latents[14:])
  images = np.zeros((16, 4, 4, 1), np.float32)
  picture = pictures.image_grid(images, evaluation.grid_columns(gan, 20))
  assert picture.shape == (8 * 65 + 1, 2 * 65 + 1, 1)  # 4 px images shown 16x.


@pytest.mark.slow
def test_conditional_digits_train_and_evaluate(digits_config, tmp_path, cache_dir):
  """The whole path on the digits: labelled batches, per-class sample grids, class
  accuracy in evaluation, and the evaluate command writing labels beside the samples."""
  digits_config.conditional = True
  digits_config.eval_every_steps = 4
  digits_config.eval_num_samples = 50
  digits_config.eval_cache_dir = cache_dir
  trainer.train_and_evaluate(digits_config, str(tmp_path / "run"))
  rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
  assert 0.0 <= rows[-1]["eval/class_accuracy"] <= 1.0
  results = evaluate.evaluate_workdir(str(tmp_path / "run"), num_samples=30)
  assert "eval/class_accuracy" in results
  out = tmp_path / "run" / "eval" / "step_0000004"
  saved = np.load(out / "samples.npz")
  np.testing.assert_array_equal(saved["labels"], np.arange(30) % 10)
  assert Image.open(out / "samples.png").size == (10 * 65 + 1, 10 * 65 + 1)  # 10 per class.
  assert Image.open(tmp_path / "run" / "samples" / "step_0000004.png").size[1] == 10 * 65 + 1

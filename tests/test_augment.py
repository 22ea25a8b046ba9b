"""Differentiable augmentation (jaxgan.augment): each transform alone, and inside the real
jitted step, where every input of D passes through it and ADA adapts its probability."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxgan import augment, init_state, regularizers, tasks, trainer
from jaxgan.errors import ConfigError
from jaxgan.state import Augment
from jaxgan.step import train_step

KEY = jax.random.key(3)


def _images(n: int = 16, size: int = 16, channels: int = 3) -> jax.Array:
  """Images in [-1, 1] with no zero pixel, so what a transform puts in can be told apart."""
  images = jax.random.uniform(jax.random.key(0), (n, size, size, channels), minval=0.1)
  return jnp.where(jax.random.bernoulli(jax.random.key(1), 0.5, images.shape), images, -images)


GEOMETRIC = {
    "flip": augment.flip,
    "rotate90": augment.rotate90,
    "translation": augment.translation,
    "translation_reflect": lambda key, x: augment.translation(key, x, mode="reflect"),
    "cutout": augment.cutout,
}


@pytest.mark.parametrize("name", GEOMETRIC)
def test_geometric_transforms_keep_shape_and_only_move_values_or_put_grey_in(name):
  images = _images()
  out = GEOMETRIC[name](KEY, images)
  assert out.shape == images.shape and out.dtype == images.dtype
  values = set(np.asarray(images).ravel().tolist()) | {0.0}
  assert set(np.asarray(out).ravel().tolist()) <= values
  changed = np.any(np.asarray(out != images), axis=(1, 2, 3))
  assert 0 < changed.sum()  # Some samples, drawn independently, were transformed.


def test_translation_moves_each_sample_by_at_most_an_eighth_of_its_side():
  images = _images(n=8, size=16)
  out = np.asarray(augment.translation(KEY, images))
  padded = np.pad(np.asarray(images), ((0, 0), (2, 2), (2, 2), (0, 0)))
  shifts = []
  for image, moved in zip(padded, out):
    shifts.append([(dy, dx) for dy in range(5) for dx in range(5)
                   if np.array_equal(image[dy:dy + 16, dx:dx + 16], moved)])
  assert all(len(found) == 1 for found in shifts)
  assert len({found[0] for found in shifts}) > 1  # Each sample its own shift.


def test_cutout_zeroes_one_square_of_half_the_side_at_most():
  images = _images(n=32, size=16, channels=1)
  zeros = np.sum(np.asarray(augment.cutout(KEY, images)) == 0, axis=(1, 2, 3))
  assert np.all(zeros <= 64) and np.all(zeros >= 16) and np.any(zeros == 64)


@pytest.mark.parametrize("transform,bound", [
    (lambda key, x: augment.brightness(key, x, 0.5), lambda x: np.abs(x) + 0.5),
    (lambda key, x: augment.contrast(key, x, 0.5, 1.5), lambda x: 3.0 * np.ones_like(x)),
    (lambda key, x: augment.saturation(key, x, 0.0, 2.0), lambda x: 3.0 * np.ones_like(x)),
])
def test_colour_transforms_keep_shape_and_stay_within_their_factor(transform, bound):
  images = _images()
  out = np.asarray(transform(KEY, images))
  assert out.shape == images.shape
  assert np.all(np.abs(out) <= bound(np.asarray(images)) + 1e-6)
  assert not np.allclose(out, images)


def test_saturation_leaves_grey_images_alone_and_keeps_each_pixels_grey():
  grey = _images(channels=1)
  np.testing.assert_array_equal(augment.saturation(KEY, grey, 0.0, 2.0), grey)
  colour = _images()
  np.testing.assert_allclose(jnp.mean(augment.saturation(KEY, colour, 0.0, 2.0), -1),
                             jnp.mean(colour, -1), atol=1e-6)


@pytest.mark.parametrize("name", ["diffaugment", "ada"])
def test_the_families_keep_shape_and_their_gradient_is_the_true_one(name):
  transform = augment.AUGMENTS[name]().transform
  images = _images(n=4, size=8)
  out = transform(KEY, images, 1.0)
  assert out.shape == images.shape and bool(jnp.all(jnp.isfinite(out)))
  assert not np.allclose(out, images)
  # Piecewise linear in the pixels for a fixed key: the gradient matches finite differences.
  check_grads(lambda x: transform(KEY, x, 1.0), (images,), order=1, modes=("rev",), eps=1e-3)


def test_ada_applies_nothing_at_p_0_and_more_as_p_grows():
  images = _images(n=64)
  np.testing.assert_array_equal(augment.ada(KEY, images, 0.0), images)
  changed = [np.mean(np.any(np.asarray(augment.ada(KEY, images, p) != images), axis=(1, 2, 3)))
             for p in (0.1, 0.5)]
  assert 0 < changed[0] < changed[1]


class _MeanCritic(nn.Module):
  """A critic that scores a sample by the mean of its pixels."""

  @nn.compact
  def __call__(self, x, train: bool = True):
    scale = self.param("scale", nn.initializers.ones, ())
    return scale * jnp.mean(x, axis=(1, 2, 3))


class _Undecided(nn.Module):
  """A critic that scores every sample alike, below 0: it cannot tell real from fake."""

  @nn.compact
  def __call__(self, x, train: bool = True):
    return _MeanCritic()(x) * 0.0 - 1.0


def _digits_gan(config, **augment_fields):
  task = tasks.from_config(config)
  gan = trainer.build_gan(config, task.spec)
  return dataclasses.replace(gan, **augment_fields), task.dataset


def _one_step(gan, dataset, batch_size: int = 8):
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  batch = jnp.asarray(dataset.batch(0, batch_size))
  return jax.jit(lambda s, b: train_step(gan, s, b, jax.random.key(1)))(state, batch)


def test_every_input_of_d_real_fake_and_penalised_passes_through_the_augmentation(digits_config):
  digits_config.loss = "hinge"
  digits_config.d_penalties = ({"name": "r1", "weight": 1.0},)
  marker = Augment(lambda rng, x, p: 0.0 * x + 0.25)  # D sees only what it puts in.
  gan, dataset = _digits_gan(digits_config, discriminator=_MeanCritic(), augment=marker)
  _, metrics = _one_step(gan, dataset)
  assert float(metrics["d/real_score"]) == float(metrics["d/fake_score"]) == 0.25
  assert float(metrics["d/r1"]) == 0.0  # The penalty's D input is the augmented one too.
  assert float(metrics["g/grad_norm"]) == 0.0  # G's gradient passes through it.
  plain, dataset = _digits_gan(digits_config, discriminator=_MeanCritic())
  _, metrics = _one_step(plain, dataset)
  assert float(metrics["d/r1"]) > 0 and float(metrics["g/grad_norm"]) > 0


def test_g_gets_a_gradient_through_diffaugment_in_the_step(digits_config):
  digits_config.augment = "diffaugment"
  gan, dataset = _digits_gan(digits_config)
  state, metrics = _one_step(gan, dataset)
  plain, _ = _digits_gan(digits_config, augment=Augment())
  _, plain_metrics = _one_step(plain, dataset)
  assert 0 < float(metrics["g/grad_norm"]) != float(plain_metrics["g/grad_norm"])
  assert state.augment is None  # DiffAugment has no probability to adapt.


def test_ada_controller_moves_p_by_the_papers_step_every_interval():
  ada = regularizers.AdaptiveProbability(jnp.float32(0.5), jnp.float32(0.0))
  kwargs = {"images": 64, "target": 0.6, "speed_images": 6400, "interval": 4}
  for step in (1, 2, 3):
    ada = regularizers.ada_update(ada, jnp.float32(1.0), jnp.int32(step), **kwargs)
    assert float(ada.p) == 0.5 and float(ada.signs) == step
  ada = regularizers.ada_update(ada, jnp.float32(1.0), jnp.int32(4), **kwargs)
  assert float(ada.p) == pytest.approx(0.54) and float(ada.signs) == 0.0  # 64 * 4 / 6400.
  for step in range(5, 9):  # r_t = 0.5 < 0.6: down.
    ada = regularizers.ada_update(ada, jnp.float32(0.5), jnp.int32(step), **kwargs)
  assert float(ada.p) == pytest.approx(0.5)


def _ada_run(config, steps: int, **fields):
  gan, dataset = _digits_gan(config, **fields)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  step = jax.jit(lambda s, b: train_step(gan, s, b, jax.random.key(1)))
  ps = []
  for i in range(steps):
    state, metrics = step(state, jnp.asarray(dataset.batch(i, config.batch_size)))
    ps.append(float(metrics["aug/p"]))
  return state, ps


def test_ada_p_rises_when_d_overfits_and_falls_when_it_cannot_tell(digits_config):
  digits_config.augment = "ada"
  digits_config.augment_kwargs.speed_images = 500  # 0.032 a move of 2 steps at batch 8.
  digits_config.augment_kwargs.interval = 2
  digits_config.d_optimizer.learning_rate = 2e-3  # D soon tells the real digits apart.
  state, ps = _ada_run(digits_config, 24)
  assert ps[0] == 0.0 and float(state.augment.p) > 0.2
  assert all(b >= a for a, b in zip(ps, ps[1:]))

  digits_config.augment_kwargs.p = 0.5  # A D that scores everything alike cannot tell.
  state, ps = _ada_run(digits_config, 24, discriminator=_Undecided())
  assert ps[0] == 0.5 and float(state.augment.p) == pytest.approx(0.5 - 12 * 0.032)
  assert all(b <= a for a, b in zip(ps, ps[1:]))


def test_ada_resumes_bit_for_bit_across_a_change_of_p(digits_config, tmp_path):
  digits_config.augment = "ada"
  digits_config.augment_kwargs.speed_images = 500
  digits_config.augment_kwargs.interval = 1
  digits_config.augment_kwargs.p = 0.5
  digits_config.num_train_steps = 6
  straight = trainer.train_and_evaluate(digits_config, str(tmp_path / "straight"))
  digits_config.num_train_steps = 3
  half = trainer.train_and_evaluate(digits_config, str(tmp_path / "resumed"))
  digits_config.num_train_steps = 6
  resumed = trainer.train_and_evaluate(digits_config, str(tmp_path / "resumed"))
  assert len({0.5, float(half.augment.p), float(resumed.augment.p)}) == 3  # p moved.
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(straight), jax.device_get(resumed))


@pytest.mark.parametrize("field,value,message", [
    ("augment", "mixup", "Unknown augment 'mixup'. Known: none, diffaugment, ada."),
    ("augment_kwargs", {"targett": 0.5}, "augment='ada' takes no argument 'targett'"),
])
def test_a_misnamed_augmentation_is_a_config_error(digits_config, field, value, message):
  digits_config.augment = "ada"
  digits_config[field] = value
  with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
    trainer.build_gan(digits_config, tasks.DataSpec((16, 16, 1)))


def test_augmenting_what_is_not_an_image_is_a_config_error(ring_config):
  ring_config.augment = "diffaugment"
  with pytest.raises(ConfigError, match="transforms images"):
    trainer.build_gan(ring_config, tasks.DataSpec((2,)))


def test_a_diffaugment_policy_applies_only_the_transforms_it_names():
  transform = augment.AUGMENTS["diffaugment"](policy=("translation",)).transform
  images = _images()
  moved = np.asarray(transform(KEY, images, 1.0))
  assert set(moved.ravel().tolist()) <= set(np.asarray(images).ravel().tolist()) | {0.0}
  np.testing.assert_array_equal(
      augment.AUGMENTS["diffaugment"](policy="translation").transform(KEY, images, 1.0), moved)
  with pytest.raises(ConfigError, match="policy takes some of color, translation, cutout"):
    augment.AUGMENTS["diffaugment"](policy=("colour",))

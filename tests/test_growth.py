"""Progressive growing: the schedule, the fade-in, the models at every phase, and training
through phase boundaries."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import growth, init_state, models, parallel, tasks, train_step, trainer
from jaxgan.errors import ConfigError
from jaxgan.models import progressive
from jaxgan.step import step_latents
from jaxgan.tasks import DataSpec

DATA_SHAPE = (16, 16, 1)


def _pair(equalized_lr: bool = True):
  g = progressive.ProgressiveGenerator(data_shape=DATA_SHAPE, features=(16, 8, 8),
                                       equalized_lr=equalized_lr)
  d = progressive.ProgressiveDiscriminator(features=(8, 8, 16), equalized_lr=equalized_lr)
  g_vars = g.init(jax.random.key(0), jnp.zeros((1, 8)), train=False)
  d_vars = d.init(jax.random.key(1), jnp.zeros((4, *DATA_SHAPE)), train=False)
  return g, d, g_vars, d_vars


def test_schedule_phases_and_alpha():
  schedule = growth.Growth(num_phases=3, phase_steps=100, fade_steps=40)
  assert [schedule.phase_at(s) for s in (0, 99, 100, 199, 200, 5000)] == [0, 0, 1, 1, 2, 2]
  assert float(schedule.alpha(jnp.array(0))) == 1.0  # Phase 0 has nothing to fade in.
  second = schedule.at_step(100)
  alphas = [float(second.alpha(jnp.array(s))) for s in (100, 110, 120, 140, 199)]
  assert alphas == [0.0, 0.25, 0.5, 1.0, 1.0]
  assert float(growth.Growth(3, 100, 0, phase=2).alpha(jnp.array(200))) == 1.0
  with pytest.raises(ConfigError, match="fade_steps must be in"):
    growth.Growth(num_phases=3, phase_steps=100, fade_steps=101)


def test_fade_real_blends_two_resolutions_like_numpy():
  images = np.random.default_rng(0).normal(size=(2, 16, 16, 1)).astype(np.float32)

  def pool(x, factor):
    n, s, _, c = x.shape
    return x.reshape(n, s // factor, factor, s // factor, factor, c).mean(axis=(2, 4))

  def enlarge(x, factor):
    return x.repeat(factor, axis=1).repeat(factor, axis=2)

  schedule = growth.Growth(num_phases=3, phase_steps=10, fade_steps=10, phase=1)  # 8x8.
  eight, four = enlarge(pool(images, 2), 2), enlarge(pool(images, 4), 4)
  for alpha in (0.0, 0.3, 1.0):
    np.testing.assert_allclose(schedule.fade_real(jnp.asarray(images), jnp.asarray(alpha)),
                               (1 - alpha) * four + alpha * eight, rtol=1e-5, atol=1e-6)
  last = growth.Growth(num_phases=3, phase_steps=10, fade_steps=10, phase=2)
  np.testing.assert_allclose(last.fade_real(jnp.asarray(images), jnp.asarray(1.0)), images,
                             rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_a_new_phase_starts_where_the_last_one_ended():
  """At alpha 0 the grown G and D compute exactly what the phase before computed."""
  g, d, g_vars, d_vars = _pair()
  latents = jax.random.normal(jax.random.key(2), (4, 8))
  images = jax.random.normal(jax.random.key(3), (4, *DATA_SHAPE))
  for phase in (1, 2):
    before, _ = g.apply(g_vars, latents, phase=phase - 1, mutable=["batch_stats"])
    after, _ = g.apply(g_vars, latents, phase=phase, alpha=jnp.zeros(()), mutable=["batch_stats"])
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(d.apply(d_vars, images, phase=phase - 1),
                                  d.apply(d_vars, images, phase=phase, alpha=jnp.zeros(())))
  # Phase 0 makes 4x4 images: every 4x4 block of the 16x16 output is one colour.
  early, _ = g.apply(g_vars, latents, phase=0, mutable=["batch_stats"])
  blocks = np.asarray(early).reshape(4, 4, 4, 4, 4, 1)
  np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :, :1, :, :1], blocks.shape))
  assert early.shape == (4, *DATA_SHAPE) and np.all(np.abs(early) <= 1)


@pytest.mark.slow
def test_inference_draws_at_the_phase_and_alpha_last_trained():
  g, _, g_vars, _ = _pair()
  latents = jax.random.normal(jax.random.key(2), (4, 8))
  trained, mutated = g.apply(g_vars, latents, phase=1, alpha=jnp.asarray(0.3),
                             mutable=["batch_stats"])
  assert float(mutated["batch_stats"]["phase"]) == 1.0
  drawn = g.apply({**g_vars, **mutated}, latents, train=False)
  np.testing.assert_allclose(drawn, trained, rtol=1e-6, atol=1e-6)
  fully_grown, _ = g.apply(g_vars, latents, mutable=["batch_stats"])
  np.testing.assert_allclose(g.apply(g_vars, latents, train=False), fully_grown, atol=1e-6)


def test_equalized_learning_rate_changes_the_gradients_not_the_function():
  latents = jax.random.normal(jax.random.key(2), (4, 8))
  equalized, _, eq_vars, _ = _pair(equalized_lr=True)
  plain, _, plain_vars, _ = _pair(equalized_lr=False)

  def output(module, variables, params):
    return module.apply({**variables, "params": params}, latents, train=False).sum()

  np.testing.assert_allclose(output(equalized, eq_vars, eq_vars["params"]),
                             output(plain, plain_vars, plain_vars["params"]), rtol=1e-4)
  eq_grads = jax.grad(lambda p: output(equalized, eq_vars, p))(eq_vars["params"])
  plain_grads = jax.grad(lambda p: output(plain, plain_vars, p))(plain_vars["params"])
  # Stored weights are the plain ones over He's constant c, so their gradient is c times.
  kernel = plain_vars["params"]["block1_conv0"]["kernel"]
  he = np.sqrt(2.0 / (9 * kernel.shape[2]))
  np.testing.assert_allclose(eq_vars["params"]["block1_conv0"]["kernel"] * he, kernel,
                             rtol=1e-5)
  np.testing.assert_allclose(eq_grads["block1_conv0"]["kernel"],
                             he * plain_grads["block1_conv0"]["kernel"], rtol=1e-3, atol=1e-4)


def _expected_counts(g_features, d_features, latent_dim, channels, base):
  """Parameters of the progressive G and D, counted layer by layer from the paper's design."""
  conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731
  g = latent_dim * base * base * g_features[0] + base * base * g_features[0]
  g += conv(3, g_features[0], g_features[0])
  for cin, cout in zip(g_features, g_features[1:]):
    g += conv(3, cin, cout) + conv(3, cout, cout)
  g += sum(conv(1, width, channels) for width in g_features)
  d = sum(conv(1, channels, width) for width in d_features)
  for cin, cout in zip(d_features, d_features[1:]):
    d += conv(3, cin, cin) + conv(3, cin, cout)
  d += conv(3, d_features[-1] + 1, d_features[-1]) + conv(base, d_features[-1], d_features[-1])
  d += d_features[-1] + 1
  return g, d


@pytest.mark.parametrize("size,channels,g_features,d_features", [
    (16, 1, (16, 8, 8), (8, 8, 16)), (28, 1, (16, 8, 8), (8, 8, 16)),
    (32, 3, (16, 16, 8, 8), (8, 8, 16, 16)), (64, 3, (16, 16, 8, 8, 8), (8, 8, 8, 16, 16))])
def test_shapes_and_parameter_counts_at_every_size(size, channels, g_features, d_features):
  pair = models.get("progressive")
  g = pair.generator(data_shape=(size, size, channels), features=g_features)
  d = pair.discriminator(features=d_features)
  g_vars = g.init(jax.random.key(0), jnp.zeros((4, 8)), train=False)
  d_vars = d.init(jax.random.key(1), jnp.zeros((4, size, size, channels)), train=False)
  base = size // 2 ** (len(g_features) - 1)
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))  # noqa: E731
  assert (count(g_vars["params"]), count(d_vars["params"])) == _expected_counts(
      g_features, d_features, 8, channels, base)
  for phase in range(len(g_features)):
    images, _ = g.apply(g_vars, jnp.ones((4, 8)), phase=phase, alpha=jnp.asarray(0.5),
                        mutable=["batch_stats"])
    assert images.shape == (4, size, size, channels)
    assert d.apply(d_vars, images, phase=phase, alpha=jnp.asarray(0.5)).shape == (4,)


def test_growth_config_errors(digits_config):
  digits_config.growth = {"phase_steps": 10, "fade_steps": 5}
  with pytest.raises(ConfigError, match="config.growth is for progressive models"):
    trainer.build_gan(digits_config, DataSpec(DATA_SHAPE))
  digits_config.model = "progressive"
  digits_config.generator = {"features": (8, 8, 8)}
  digits_config.discriminator = {"features": (8, 8)}
  with pytest.raises(ConfigError, match="grows through 3 resolutions .* the discriminator "
                                        "through 2"):
    trainer.build_gan(digits_config, DataSpec(DATA_SHAPE))


@pytest.mark.slow
def test_later_layers_wait_for_their_phase(digits_config):
  """In phase 0 the layers of later phases get no gradient: their parameters and Adam moments
  stay as initialised, so they carry over untouched into the phase that adds them."""
  digits_config.model = "progressive"
  digits_config.generator = {"features": (8, 8, 8)}
  digits_config.discriminator = {"features": (8, 8, 8)}
  digits_config.growth = {"phase_steps": 3, "fade_steps": 2}
  digits_config.loss = "wasserstein"
  digits_config.d_penalties = ({"name": "gradient_penalty", "weight": 10.0},)
  for optimizer in (digits_config.g_optimizer, digits_config.d_optimizer):
    optimizer.b1, optimizer.b2 = 0.0, 0.99  # The paper's.
  task = tasks.from_config(digits_config)
  dataset = task.dataset
  gan = trainer.build_gan(digits_config, task.spec)
  start = init_state(gan, jax.random.key(0), dataset.data_shape)
  state = jax.tree.map(jnp.copy, start)
  steps = {phase: parallel.local_layout(1).compile(gan.at_step(3 * phase)) for phase in (0, 1)}
  for step in range(4):  # Phase 0, then the first step of phase 1 (alpha 0).
    state, metrics = steps[gan.growth.phase_at(step)](state, dataset.batch(step, 8),
                                                      jax.random.key(1))
    assert all(np.isfinite(float(v)) for v in metrics.values())
  later = {"g": ("block2_conv0", "to_image_2"), "d": ("from_image_0", "block0_conv0")}
  for player, layers in later.items():
    before, after = getattr(start, player), getattr(state, player)
    for layer in layers:
      jax.tree.map(np.testing.assert_array_equal, before.params[layer], after.params[layer])
      mu = after.opt_state[0].mu[layer]
      assert all(not np.any(x) for x in jax.tree.leaves(mu)), (player, layer)
    for layer in ("block0_conv0",) if player == "g" else ("block2_conv0",):
      assert not np.array_equal(before.params[layer]["kernel"], after.params[layer]["kernel"])
  # Phase 1's new layers had alpha 0 at its first step: still no gradient, as in phase 0.
  assert not np.any(state.g.opt_state[0].mu["to_image_1"]["kernel"])
  assert float(state.g.batch_stats["phase"]) == 1.0

  # At alpha 0.5 they get their first gradient. Adam's shared count (5) is past the first
  # step, so its bias correction scales their update (README: progressive growing).
  before = np.asarray(state.g.params["to_image_1"]["kernel"])  # The step donates the state.
  state, _ = steps[1](state, dataset.batch(4, 8), jax.random.key(1))
  change = np.abs(np.asarray(state.g.params["to_image_1"]["kernel"]) - before)
  lr, b1, b2 = (digits_config.g_optimizer[k] for k in ("learning_rate", "b1", "b2"))
  count = 5
  factor = (1 - b1) / (1 - b1 ** count) / np.sqrt((1 - b2) / (1 - b2 ** count))
  assert factor > 2  # A fresh Adam's first update is 1x the learning rate.
  np.testing.assert_allclose(change, factor * lr, rtol=1e-3)


@pytest.mark.slow
def test_a_relativistic_g_sees_the_real_images_d_sees_during_a_fade_in(digits_config):
  """In the alternating schedule G's relativistic loss compares its samples with the real
  batch as the phase shows it to D (faded in), not with the full-size images."""
  digits_config.model = "progressive"
  digits_config.generator = {"features": (8, 8, 8)}
  digits_config.discriminator = {"features": (8, 8, 8)}
  digits_config.growth = {"phase_steps": 4, "fade_steps": 4}
  digits_config.loss = "relativistic_average"
  task = tasks.from_config(digits_config)
  gan = trainer.build_gan(digits_config, task.spec)
  state = init_state(gan, jax.random.key(0), task.spec.shape)
  rng = jax.random.key(1)
  for step in range(6):  # Step 5 is phase 1 with alpha 0.25.
    phase_gan = gan.at_step(step)
    batch = task.dataset.batch(step, 8)
    new_state, metrics = jax.jit(functools.partial(train_step, phase_gan))(state, batch, rng)
    if step < 5:
      state = new_state
  kwargs = phase_gan.growth.model_kwargs(jnp.asarray(5))
  assert 0 < float(kwargs["alpha"]) < 1
  latents = step_latents(phase_gan, rng, jnp.asarray(5), 8)[-1]
  fake = phase_gan.generator.apply(
      {"params": state.g.params, "batch_stats": state.g.batch_stats}, latents, train=True,
      mutable=["batch_stats"], **kwargs)[0]

  def judge(images):  # D after its update: G's loss comes after D's in this schedule.
    return phase_gan.discriminator.apply({"params": new_state.d.params}, images, train=True,
                                         **kwargs)

  seen = phase_gan.growth.fade_real(jnp.asarray(batch), kwargs["alpha"])
  expected = gan.loss.generator(judge(fake), judge(seen))
  full_size = gan.loss.generator(judge(fake), judge(jnp.asarray(batch)))
  np.testing.assert_allclose(metrics["g/loss"], expected, rtol=1e-5)
  assert abs(float(full_size) - float(expected)) > 1e-4

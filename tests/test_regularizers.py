import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import regularizers

REAL = jax.random.normal(jax.random.key(0), (6, 3, 2, 1))
FAKE = jax.random.normal(jax.random.key(1), (6, 3, 2, 1))


def _linear_d(weight):
  return lambda x: x.reshape(x.shape[0], -1) @ weight.ravel()


def test_gradient_penalty_of_a_linear_critic_is_analytic():
  # D(x) = <w, x> has gradient w everywhere, so the penalty is (|w| - 1)^2 exactly.
  weight = jnp.arange(6.0).reshape(3, 2, 1) / 4  # |w| = sqrt(55) / 4 ~ 1.854
  norm = np.sqrt(55) / 4
  d_fn = _linear_d(weight)
  two_sided = regularizers.gradient_penalty(d_fn, REAL, FAKE, jax.random.key(2))
  np.testing.assert_allclose(two_sided, (norm - 1) ** 2, rtol=1e-5)
  one_sided = regularizers.gradient_penalty(d_fn, REAL, FAKE, jax.random.key(2),
                                            target=3.0, one_sided=True)
  assert float(one_sided) == 0.0  # |w| < 3: nothing to penalise on one side.
  np.testing.assert_allclose(
      regularizers.gradient_penalty(d_fn, REAL, FAKE, jax.random.key(2), target=3.0),
      (norm - 3) ** 2, rtol=1e-5)


def _quadratic_d(x):
  flat = x.reshape(x.shape[0], -1)
  return jnp.sum(jnp.sin(flat) * flat, axis=1)


def test_r1_matches_a_finite_difference_gradient():
  eps = 1e-3
  x = np.asarray(REAL, np.float64).reshape(6, -1)
  grads = np.zeros_like(x)
  f = lambda v: np.sum(np.sin(v) * v, axis=1)  # noqa: E731
  for j in range(x.shape[1]):
    step = np.zeros_like(x)
    step[:, j] = eps
    grads[:, j] = (f(x + step) - f(x - step)) / (2 * eps)
  expected = 0.5 * np.mean(np.sum(grads ** 2, axis=1))
  np.testing.assert_allclose(regularizers.r1_penalty(_quadratic_d, REAL, FAKE, None),
                             expected, rtol=1e-4)
  np.testing.assert_allclose(regularizers.r2_penalty(_quadratic_d, FAKE, REAL, None),
                             expected, rtol=1e-4)


def test_penalties_have_finite_gradients_for_d_parameters():
  for name in regularizers.PENALTIES.names():
    fn = regularizers.PENALTIES.get(name)
    grad = jax.grad(lambda w: fn(_linear_d(w), REAL, REAL, jax.random.key(3)))(
        jnp.ones((3, 2, 1)))
    assert np.all(np.isfinite(grad)), name  # GP at real == fake: interpolates are the data.


def test_clip_weights_lands_parameters_in_the_box():
  params = {"w": jnp.array([0.005, -0.2, 0.3])}
  optimizer = optax.chain(optax.sgd(1.0), regularizers.clip_weights(0.01))
  updates, _ = optimizer.update({"w": jnp.array([-1.0, 0.0, 0.0])}, optimizer.init(params), params)
  np.testing.assert_allclose(optax.apply_updates(params, updates)["w"], [0.01, -0.01, 0.01],
                             atol=1e-7)


def test_instance_noise_anneals_to_zero():
  level = lambda s: float(regularizers.instance_noise_std(  # noqa: E731
      jnp.asarray(s), std=0.2, anneal_steps=100))
  assert level(0) == pytest.approx(0.2) and level(50) == pytest.approx(0.1)
  assert level(100) == 0.0 and level(1000) == 0.0
  assert float(regularizers.instance_noise_std(jnp.asarray(10**6), std=0.2, anneal_steps=0)) \
      == pytest.approx(0.2)


def test_instance_noise_adds_noise_of_the_level_to_each_input_independently():
  samples = {"full": jnp.ones((400, 8, 8, 1)), "half": jnp.zeros((400, 4, 4, 1)),
             "quarter": jnp.zeros((400, 2, 2, 1))}  # e.g. every scale of MSG-GAN's D.
  noisy = regularizers.instance_noise(jax.random.key(0), samples, jnp.float32(0.3))
  noise = {name: noisy[name] - samples[name] for name in samples}
  for name in samples:
    assert float(jnp.mean(noise[name])) == pytest.approx(0.0, abs=0.01)
    assert float(jnp.std(noise[name])) == pytest.approx(0.3, rel=0.05)
  assert abs(float(jnp.corrcoef(noise["full"][:, :4, :4].ravel(),
                                noise["half"].ravel())[0, 1])) < 0.02  # Its own key each.
  single = regularizers.instance_noise(jax.random.key(0), samples["full"], jnp.float32(0.3))
  np.testing.assert_array_equal(  # One array draws its noise from the key itself.
      single, samples["full"] + 0.3 * jax.random.normal(jax.random.key(0), (400, 8, 8, 1)))
  assert float(jnp.std(single - samples["full"])) == pytest.approx(0.3, rel=0.02)
  unchanged = regularizers.instance_noise(jax.random.key(0), samples, jnp.float32(0.0))
  np.testing.assert_array_equal(unchanged["full"], samples["full"])


def test_flip_labels_swaps_a_fraction_of_pairs():
  real, fake = jnp.ones(10000), -jnp.ones(10000)
  flipped_real, flipped_fake = regularizers.flip_labels(jax.random.key(0), real, fake,
                                                        fraction=0.1)
  swapped = np.asarray(flipped_real == -1)
  assert 0.08 < swapped.mean() < 0.12
  np.testing.assert_array_equal(np.asarray(flipped_fake == 1), swapped)


def test_historical_average():
  params = [{"w": jnp.array([1.0, 2.0])}, {"w": jnp.array([3.0, 0.0])},
            {"w": jnp.array([2.0, 4.0])}]
  average = params[0]
  for count, p in enumerate(params[1:], start=1):
    average = regularizers.update_average(average, p, count)
  np.testing.assert_allclose(average["w"], [2.0, 2.0])
  np.testing.assert_allclose(
      regularizers.historical_average_penalty({"w": jnp.array([0.0, 0.0])}, average), 8.0)


def test_replay_buffer_push_and_mix():
  buffer = regularizers.ReplayBuffer(jnp.zeros((4, 2)), jnp.zeros((), jnp.int32))
  fake = jnp.full((3, 2), 7.0)
  # Empty: nothing to replay.
  np.testing.assert_array_equal(
      regularizers.replay_mix(jax.random.key(0), fake, buffer, fraction=1.0), fake)
  buffer = regularizers.replay_push(buffer, jnp.full((3, 2), 1.0))
  buffer = regularizers.replay_push(buffer, jnp.full((3, 2), 2.0))  # Wraps around.
  np.testing.assert_array_equal(buffer.samples[:, 0], [2.0, 2.0, 1.0, 2.0])
  assert int(buffer.count) == 6
  mixed = regularizers.replay_mix(jax.random.key(1), fake, buffer, fraction=1.0)
  assert set(np.unique(mixed).tolist()) <= {1.0, 2.0}
  half = regularizers.replay_mix(jax.random.key(1), jnp.full((1000, 2), 7.0), buffer,
                                 fraction=0.5)
  assert 0.4 < float(jnp.mean(half[:, 0] == 7.0)) < 0.6


def my_penalty(d_fn, real, fake, rng, *, scale: float = 1.0):
  """A user's penalty outside jaxgan: the mean squared logit on real data."""
  del fake, rng
  return scale * jnp.mean(d_fn(real) ** 2)


def test_user_penalty_by_module_path():
  fn = regularizers.PENALTIES.get("tests.test_regularizers:my_penalty")
  weight = jnp.ones((3, 2, 1))
  expected = np.mean(np.asarray(REAL).reshape(6, -1).sum(1) ** 2)
  np.testing.assert_allclose(fn(_linear_d(weight), REAL, FAKE, None), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["gradient_penalty", "r1", "r2"])
def test_penalties_on_several_arrays_equal_those_on_their_concatenation(name):
  # MSG-GAN's D takes every scale: a penalty over (small, large) must treat the pair as one
  # input per sample, exactly as over the two flattened and joined.
  keys = jax.random.split(jax.random.key(0), 6)
  small, small_fake = (jax.random.normal(k, (5, 2, 2, 3)) for k in keys[:2])
  large, large_fake = (jax.random.normal(k, (5, 4, 4, 3)) for k in keys[2:4])
  w = jax.random.normal(keys[4], (12 + 48,))

  def d_flat(x):
    return jnp.tanh(x) @ w

  def join(pair):
    return jnp.concatenate([p.reshape(5, -1) for p in pair], axis=1)

  fn = regularizers.PENALTIES.get(name)
  on_pairs = fn(lambda pair: d_flat(join(pair)), (small, large), (small_fake, large_fake),
                keys[5])
  on_joined = fn(d_flat, join((small, large)), join((small_fake, large_fake)), keys[5])
  np.testing.assert_allclose(on_pairs, on_joined, rtol=1e-5)


def test_gradient_penalty_is_taken_at_each_samples_own_interpolate():
  """D(x) = |x|^2 / 2 has gradient x: the penalty is `(|real + u (fake - real)| - 1)^2` with one
  u ~ U[0, 1] per sample, drawn from the key; small gradients count as they are."""
  d_fn = lambda x: 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=1)  # noqa: E731
  real, fake = 0.1 * REAL, 0.1 * FAKE  # Gradient norms well below 1.
  u = jax.random.uniform(jax.random.key(3), (REAL.shape[0],)).reshape(-1, 1, 1, 1)
  norms = np.linalg.norm(np.asarray(real + u * (fake - real)).reshape(6, -1), axis=1)
  np.testing.assert_allclose(
      regularizers.gradient_penalty(d_fn, real, fake, jax.random.key(3)),
      np.mean((norms - 1) ** 2), rtol=1e-5)


def test_r2_is_r1_on_the_fakes():
  r2 = regularizers.r2_penalty(_quadratic_d, REAL, FAKE, jax.random.key(0))
  np.testing.assert_allclose(r2, regularizers.r1_penalty(_quadratic_d, FAKE, REAL,
                                                          jax.random.key(0)), rtol=1e-6)
  assert abs(float(r2) - float(regularizers.r1_penalty(_quadratic_d, REAL, FAKE,
                                                       jax.random.key(0)))) > 1e-3


def test_instance_noise_over_one_step_is_gone_after_it():
  assert float(regularizers.instance_noise_std(jnp.asarray(0), std=0.2, anneal_steps=1)) \
      == pytest.approx(0.2)
  assert float(regularizers.instance_noise_std(jnp.asarray(1), std=0.2, anneal_steps=1)) == 0.0


def test_replay_draws_from_every_written_slot_and_no_other():
  buffer = regularizers.ReplayBuffer(jnp.arange(8.0).reshape(4, 2), jnp.asarray(3, jnp.int32))
  mixed = regularizers.replay_mix(jax.random.key(0), jnp.full((400, 2), -1.0), buffer,
                                  fraction=1.0)
  assert set(np.unique(mixed[:, 0]).tolist()) == {0.0, 2.0, 4.0}  # Slots 0-2, never slot 3.
  one = regularizers.ReplayBuffer(buffer.samples, jnp.asarray(1, jnp.int32))
  mixed = regularizers.replay_mix(jax.random.key(0), jnp.full((50, 2), -1.0), one, fraction=1.0)
  np.testing.assert_array_equal(mixed[:, 0], 0.0)  # One sample written: it is all replayed.


def test_past_discriminators_keep_dtypes_and_write_parameters_and_statistics_in_turn():
  params = {"w": jnp.ones(2, jnp.bfloat16)}  # One leaf: the ring's size is read from it.
  stats = {"mean": jnp.zeros(3), "count": jnp.zeros((), jnp.int32)}
  ring = regularizers.past_discriminators(params, stats, 2)
  assert ring.params["w"].shape == (2, 2) and ring.params["w"].dtype == jnp.bfloat16
  assert ring.batch_stats["count"].dtype == jnp.int32 and int(ring.count) == 0
  assert not np.any(ring.params["w"]) and not np.any(ring.batch_stats["mean"])

  def snapshot(value):
    return ({"w": jnp.full(2, value, jnp.bfloat16)},
            {"mean": jnp.full(3, value), "count": jnp.asarray(value, jnp.int32)})

  for value in (1, 2, 3):  # Three snapshots in a ring of two: the third replaces the first.
    ring = regularizers.past_discriminators_push(ring, *snapshot(value), jnp.asarray(True))
  ring = regularizers.past_discriminators_push(ring, *snapshot(9), jnp.asarray(False))
  assert int(ring.count) == 3
  np.testing.assert_array_equal(ring.params["w"][:, 0], [3, 2])
  np.testing.assert_array_equal(ring.batch_stats["mean"][:, 0], [3, 2])
  np.testing.assert_array_equal(ring.batch_stats["count"], [3, 2])


def test_ada_probability_stays_between_zero_and_one():
  settings = dict(images=64, target=0.6, speed_images=1000, interval=4)
  step = jnp.asarray(4, jnp.int32)
  near_one = regularizers.AdaptiveProbability(jnp.float32(0.99), jnp.float32(3.0))
  assert float(regularizers.ada_update(near_one, jnp.float32(1.0), step, **settings).p) == 1.0
  near_zero = regularizers.AdaptiveProbability(jnp.float32(0.01), jnp.float32(-3.0))
  assert float(regularizers.ada_update(near_zero, jnp.float32(-1.0), step, **settings).p) == 0.0

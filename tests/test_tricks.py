"""Regularisers and tricks inside the real jitted step, alone and composed."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan import init_state, parallel, tasks, trainer
from jaxgan import step as step_module
from jaxgan.tasks import DataSpec


def _run(config, steps: int, *, num_devices: int = 1, parallelism: str = "sharded"):
  """`steps` training steps of `config`; returns the initial state, the final state and
  every step's metrics."""
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = trainer.build_gan(config, task.spec)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  initial = jax.tree.map(jnp.copy, state)
  layout = parallel.local_layout(num_devices, parallelism)
  step_fn = layout.compile(gan)
  state, rng = layout.put((state, jax.random.key(1)))
  history = []
  for i in range(steps):
    batch = layout.place(dataset.batch(i, config.batch_size * config.n_critic), config.n_critic)
    state, metrics = step_fn(state, batch, rng)
    history.append(jax.device_get(layout.local(metrics)))
  return initial, state, history


def _finite(history) -> bool:
  return all(np.all(np.isfinite(v)) for m in history for v in m.values())


def test_hinge_spectral_norm_ema_and_lazy_r1(digits_config):
  digits_config.loss = "hinge"
  digits_config.discriminator.spectral_norm = True
  digits_config.g_ema_decay = 0.9
  digits_config.d_penalties = ({"name": "r1", "weight": 10.0, "every": 2},)
  initial, state, history = _run(digits_config, 3)
  assert _finite(history)
  assert [float(m["d/r1"]) > 0 for m in history] == [True, False, True]  # Steps 0 and 2 only.
  assert "u" in str(jax.tree_util.tree_structure(state.d.batch_stats))  # Power-iteration state.
  # One EMA step from the initial weights: 0.9 * initial + 0.1 * current after step 1.
  _, one_step, _ = _run(digits_config, 1)
  jax.tree.map(lambda e, g0, g1: np.testing.assert_allclose(e, 0.9 * g0 + 0.1 * g1, rtol=1e-5,
                                                            atol=1e-7),
               one_step.g_ema.params, initial.g.params, one_step.g.params)


def test_a_lazy_penalty_masked_on_cpu_trains_as_lax_cond_does(digits_config, monkeypatch):
  # XLA:CPU computes the penalty every step and masks it; other backends take lax.cond.
  digits_config.d_penalties = ({"name": "r1", "weight": 10.0, "every": 2},)
  _, masked, masked_history = _run(digits_config, 3)
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  _, taken, taken_history = _run(digits_config, 3)
  np.testing.assert_allclose([m["d/r1"] for m in masked_history],
                             [m["d/r1"] for m in taken_history], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               masked.d.params, taken.d.params)


def test_a_lazy_term_runs_on_its_steps_masked_on_cpu_and_branched_elsewhere(monkeypatch):
  def lazily(every):
    return lambda step: step_module._lazily(every, step, lambda: jnp.float32(1.0),
                                            jnp.float32(0.0))

  assert [float(lazily(3)(jnp.int32(s))) for s in range(7)] == [1, 0, 0, 1, 0, 0, 1]
  assert [float(lazily(1)(jnp.int32(s))) for s in range(3)] == [1, 1, 1]
  assert "cond" not in str(jax.make_jaxpr(lazily(2))(jnp.int32(0)))  # 3x faster on CPU.
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  assert "cond" in str(jax.make_jaxpr(lazily(2))(jnp.int32(0)))
  assert [float(lazily(2)(jnp.int32(s))) for s in range(3)] == [1, 0, 1]


def test_spectral_norm_estimates_the_largest_singular_value(ring_config):
  ring_config.discriminator.spectral_norm = True
  _, state, _ = _run(ring_config, 60)
  kernel = state.d.params["Dense_0"]["kernel"]
  sigma = state.d.batch_stats["SpectralNorm_0"]["Dense_0/kernel/sigma"]
  np.testing.assert_allclose(sigma, np.linalg.svd(np.asarray(kernel), compute_uv=False)[0],
                             rtol=0.02)


def test_wasserstein_gradient_penalty_with_five_critic_steps(ring_config):
  ring_config.loss = "wasserstein"
  ring_config.n_critic = 5
  ring_config.d_penalties = ({"name": "gradient_penalty", "weight": 10.0},)
  ring_config.d_optimizer = {"name": "adam", "learning_rate": 1e-4, "b1": 0.0, "b2": 0.9}
  _, state, history = _run(ring_config, 2)
  assert _finite(history) and float(history[-1]["d/gradient_penalty"]) > 0
  assert int(state.d.opt_state[0].count) == 10 and int(state.g.opt_state[0].count) == 2


def test_wasserstein_weight_clipping_keeps_the_critic_in_the_box(ring_config):
  ring_config.loss = "wasserstein"
  ring_config.d_weight_clip = 0.01
  ring_config.d_optimizer = {"name": "rmsprop", "learning_rate": 5e-5}
  _, state, history = _run(ring_config, 3)
  assert _finite(history)
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state.d.params)) <= 0.01 + 1e-6


def test_instance_noise_label_flips_historical_averaging_and_replay(ring_config):
  ring_config.instance_noise = {"std": 0.1, "anneal_steps": 10}
  ring_config.label_flip_fraction = 0.2
  ring_config.historical_averaging_weight = 0.5
  ring_config.replay = {"size": 12, "fraction": 0.5}
  initial, state, history = _run(ring_config, 3)
  assert _finite(history)
  assert float(history[-1]["d/historical_average"]) > 0
  assert float(history[-1]["g/historical_average"]) > 0
  assert int(state.replay.count) == 3 * 8
  assert float(jnp.max(jnp.abs(state.replay.samples))) > 0
  # The average of the initial and three updated parameter sets lies between them.
  assert not np.allclose(state.g.history["Dense_0"]["kernel"], state.g.params["Dense_0"]["kernel"])


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_samples_replayed_to_d_send_g_no_gradient(ring_config, schedule):
  # Step 1 fills the buffer with one batch; step 2 shows D only that batch, so in the
  # simultaneous schedule (G's loss from D's pass) G has nothing to learn from, while in the
  # alternating one G's loss is on its own new samples.
  ring_config.schedule = schedule
  ring_config.replay = {"size": 8, "fraction": 1.0}
  _, _, history = _run(ring_config, 2)
  assert float(history[0]["g/grad_norm"]) > 0
  assert (float(history[1]["g/grad_norm"]) > 0) == (schedule == "alternating")


def test_instance_noise_changes_what_d_sees(ring_config):
  _, clean, _ = _run(ring_config, 1)
  ring_config.instance_noise = {"std": 1.0, "anneal_steps": 0}
  _, noisy, _ = _run(ring_config, 1)
  assert not np.allclose(clean.d.params["Dense_0"]["kernel"], noisy.d.params["Dense_0"]["kernel"])


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
@pytest.mark.parametrize("form", ["standard", "least_squares"])
def test_relativistic_loss_in_both_schedules(ring_config, schedule, form):
  ring_config.loss = "relativistic_average"
  ring_config.loss_kwargs = {"form": form}
  ring_config.schedule = schedule
  _, _, history = _run(ring_config, 2)
  assert _finite(history)


@pytest.mark.parametrize("parallelism", parallel.PARALLELISMS)
def test_tricks_on_several_devices_keep_them_in_sync(ring_config, parallelism):
  ring_config.discriminator.spectral_norm = True
  ring_config.replay = {"size": 16, "fraction": 0.5}
  ring_config.g_ema_decay = 0.99
  ring_config.instance_noise = {"std": 0.1, "anneal_steps": 0}
  _, state, history = _run(ring_config, 2, num_devices=4, parallelism=parallelism)
  assert _finite(history)
  for leaf in jax.tree.leaves(state):
    copies = np.stack([np.asarray(shard.data).reshape(-1) for shard in leaf.addressable_shards])
    assert len(copies) == 4
    np.testing.assert_allclose(copies, np.broadcast_to(copies[0], copies.shape), rtol=1e-6,
                               atol=1e-7)
  assert int(np.asarray(state.replay.count.addressable_data(0)).reshape(-1)[0]) == 2 * 8


def test_ema_samples_are_drawn_too(digits_config, tmp_path):
  digits_config.g_ema_decay = 0.5
  trainer.train_and_evaluate(digits_config, str(tmp_path))
  assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
      "ema_step_0000002.png", "ema_step_0000004.png", "step_0000002.png", "step_0000004.png"]


@pytest.mark.parametrize("decay,rates", [
    ("constant", [1.0, 1.0, 1.0, 1.0, 1.0]),
    ("cosine", [1.0, 0.5 + 0.5 ** 1.5, 0.5, 0.5 - 0.5 ** 1.5, 0.0]),
    ("linear", [1.0, 0.75, 0.5, 0.25, 0.0])])
def test_learning_rate_decays_to_zero_over_the_updates(decay, rates):
  optimizer = trainer.build_optimizer(
      ml_collections.ConfigDict({"name": "sgd", "learning_rate": 2.0, "decay": decay}), 4)
  opt_state, steps = optimizer.init(jnp.zeros(())), []
  for _ in rates:
    updates, opt_state = optimizer.update(jnp.ones(()), opt_state)
    steps.append(-float(updates))
  np.testing.assert_allclose(steps, 2.0 * np.array(rates), atol=1e-6)


def test_decayed_learning_rates_reach_zero_at_the_last_step(ring_config):
  """Cosine for G, linear for D, which counts its `n_critic` updates a step: the last step
  still updates both players, a step past the end changes neither."""
  ring_config.num_train_steps, ring_config.n_critic = 2, 2
  ring_config.g_optimizer = {"name": "sgd", "learning_rate": 0.1, "decay": "cosine"}
  ring_config.d_optimizer = {"name": "sgd", "learning_rate": 0.1, "decay": "linear"}
  after = [_run(ring_config, steps)[1] for steps in (1, 2, 3)]
  for player in ("g", "d"):
    first, last, past_the_end = (getattr(state, player).params for state in after)
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, first, last))), player
    assert all(jax.tree.leaves(jax.tree.map(np.array_equal, last, past_the_end))), player


def test_bad_trick_settings_are_clear_errors(ring_config):
  dataset_shape = (2,)
  for field, value, message in [
      ("label_flip_fraction", 1.5, "label_flip_fraction must be in"),
      ("g_ema_decay", 1.0, "g_ema_decay must be in"),
      # Grouped settings are named by their config path.
      ("replay", {"size": 0, "fraction": 1.5}, r"replay.fraction must be in \[0, 1\]"),
      ("instance_noise", {"std": -0.1, "anneal_steps": 0}, "instance_noise.std must be >= 0"),
      ("past_discriminators", {"count": -1, "every": 1},
       "past_discriminators needs count >= 0"),
      ("unrolled", {"steps": -2, "gradient": False}, "unrolled.steps must be >= 0"),
      ("d_penalties", ({"name": "r3", "weight": 1.0},), "Unknown penalty 'r3'"),
      ("d_penalties", ({"name": "r1"},), "needs 'weight'"),
      ("g_optimizer", {"name": "adam", "learning_rate": 1e-3, "decay": "step"},
       "Unknown learning-rate decay 'step'. Known: constant, cosine, linear"),
  ]:
    config = ring_config.copy_and_resolve_references()
    config[field] = value
    with pytest.raises(ValueError, match=message):
      trainer.build_gan(config, DataSpec(dataset_shape))
  ring_config.replay = {"size": 4, "fraction": 0.5}
  with pytest.raises(ValueError, match="replay.size=4 must hold at least one batch"):
    trainer.check_config(ring_config, 1)


def test_a_fully_custom_step_still_composes(ring_config):
  """A user's loss and penalty by module path, through the same jitted step."""
  ring_config.loss = "tests.test_losses:my_loss"
  ring_config.d_penalties = ({"name": "tests.test_regularizers:my_penalty", "weight": 0.1,
                              "scale": 2.0},)
  _, _, history = _run(ring_config, 2)
  assert _finite(history) and float(history[0]["d/my_penalty"]) > 0



def test_flipped_labels_reach_d_loss(ring_config):
  """With every label flipped, the Wasserstein critic's loss is the unflipped one negated:
  mean D(real) - mean D(fake), from the step's own mean scores."""
  ring_config.loss = "wasserstein"
  for fraction, sign in ((0.0, 1.0), (1.0, -1.0)):
    ring_config.label_flip_fraction = fraction
    _, _, history = _run(ring_config, 1)
    first = history[0]
    np.testing.assert_allclose(first["d/loss"],
                               sign * (first["d/fake_score"] - first["d/real_score"]),
                               rtol=1e-5, atol=1e-7)


def test_historical_averaging_pulls_g_back_toward_its_average(ring_config):
  """G's regulariser adds weight * d|params - average|^2 / d params to its gradient: a
  step along minus the gradient moves the parameters toward their running average."""
  ring_config.historical_averaging_weight = 0.5
  task = tasks.from_config(ring_config)
  gan = trainer.build_gan(ring_config, task.spec)
  g = init_state(gan, jax.random.key(0), task.spec.shape).g
  g = g.replace(history=jax.tree.map(lambda p: p + 0.1, g.params))  # Average above params.
  zeros = jax.tree.map(jnp.zeros_like, g.params)
  # Without G penalties or translation terms, the step's context, inputs, G's output and
  # key play no part; the pull-back through G gives zeros.
  grads, terms, penalty_state = step_module._g_gradient(gan, None, g, None, None, None,
                                                        lambda cotangent: (zeros,), None)
  assert penalty_state is None
  jax.tree.map(lambda grad, p, a: np.testing.assert_allclose(grad, 0.5 * 2 * (p - a),
                                                             rtol=1e-6),
               grads, g.params, g.history)
  assert float(terms["g/historical_average"]) > 0


def test_a_lazy_penalty_is_weighted_by_its_interval(ring_config):
  """R1 every 3 steps adds 3 x weight x R1 on the steps it runs (StyleGAN2's lazy
  regularisation), so its average over steps equals R1 every step."""
  added = {}
  for every in (0, 1, 3):
    ring_config.d_penalties = () if not every else (
        {"name": "r1", "weight": 2.0, "every": every},)
    _, _, history = _run(ring_config, 1)
    added[every] = float(history[0]["d/loss"])
    if every:
      r1 = float(history[0]["d/r1"])
  assert r1 > 0
  np.testing.assert_allclose(added[1] - added[0], 2.0 * r1, rtol=1e-4)
  np.testing.assert_allclose(added[3] - added[0], 3 * 2.0 * r1, rtol=1e-4)

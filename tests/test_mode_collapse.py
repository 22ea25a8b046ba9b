"""Mode-collapse remedies: packing (PacGAN), minibatch discrimination, unrolled D, past
discriminators, and PacGAN's 2-D models, checked against numpy or explicit updates and
trained inside the real step under jit and pmap."""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bench import mode_collapse as bench
from configs import gaussians, gaussians_grid
from jaxgan import (
  checkpointing,
  init_state,
  losses,
  parallel,
  regularizers,
  step,
  tasks,
  trainer,
)
from jaxgan.errors import ConfigError
from jaxgan.models import common, mlp
from jaxgan.tasks import DataSpec, mixture


def test_pack_concatenates_consecutive_samples_without_mixing_packs():
  points = np.arange(12 * 2, dtype=np.float32).reshape(12, 2)
  packed = np.asarray(regularizers.pack(jnp.asarray(points), 3))
  np.testing.assert_array_equal(packed, points.reshape(4, 6))  # [x0 y0 x1 y1 x2 y2], ...
  images = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype(np.float32)
  packed = np.asarray(regularizers.pack(jnp.asarray(images), 2))
  np.testing.assert_array_equal(packed, np.concatenate([images[0::2], images[1::2]], axis=-1))
  changed = images.copy()
  changed[3] += 1.0  # Only the pack holding sample 3 may change.
  difference = np.asarray(regularizers.pack(jnp.asarray(changed), 2)) != packed
  assert difference[1].any() and not difference[0].any()
  with pytest.raises(ValueError, match="packing=3 must divide the batch D sees"):
    regularizers.pack(jnp.zeros((4, 2)), 3)


def test_minibatch_discrimination_equals_numpy():
  layer = common.MinibatchDiscrimination(num_kernels=3, kernel_dim=4)
  x = jax.random.normal(jax.random.key(0), (5, 6))
  variables = layer.init(jax.random.key(1), x)
  out = np.asarray(layer.apply(variables, x))
  m = (np.asarray(x) @ np.asarray(variables["params"]["Dense_0"]["kernel"])).reshape(5, 3, 4)
  expected = np.zeros((5, 3))
  for i in range(5):
    for j in range(5):
      if i != j:
        expected[i] += np.exp(-np.abs(m[i] - m[j]).sum(-1))
  np.testing.assert_allclose(out[:, :6], x, rtol=1e-6)
  np.testing.assert_allclose(out[:, 6:], expected, rtol=1e-4, atol=1e-6)
  # A batch of copies is as close as can be: every other sample counts 1.
  copies = np.asarray(layer.apply(variables, jnp.tile(x[:1], (5, 1))))
  np.testing.assert_allclose(copies[:, 6:], 4.0, rtol=1e-6)


def test_maxout_takes_the_largest_linear_piece():
  d = mlp.MLPDiscriminator(hidden_dims=(3,), maxout_pieces=4)
  x = jax.random.normal(jax.random.key(0), (6, 2))
  variables = d.init(jax.random.key(1), x)
  params = variables["params"]
  hidden = np.asarray(x) @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]
  hidden = hidden.reshape(6, 3, 4).max(axis=-1)
  expected = hidden @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]
  np.testing.assert_allclose(d.apply(variables, x), expected[:, 0], rtol=1e-5, atol=1e-6)


def _pacgan_models(config, packing: int):
  """PacGAN's 2-D models (narrowed): a BatchNorm + ReLU G and a maxout D of `packing`."""
  config.generator = {"hidden_dims": (16, 16), "output_activation": "identity",
                      "activation": "relu", "batch_norm": True}
  config.discriminator = {"hidden_dims": (8, 8), "maxout_pieces": 5,
                          "minibatch_discrimination": 4}
  config.packing = packing
  return config


def _train(config, steps: int, num_devices: int = 1):
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = trainer.build_gan(config, task.spec)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  layout = parallel.local_layout(num_devices)
  step_fn = layout.compile(gan)
  state, rng = layout.put((state, jax.random.key(1)))
  for i in range(steps):
    state, metrics = step_fn(state, layout.place(dataset.batch(i, config.batch_size), 1), rng)
  return jax.device_get(layout.local((state, metrics)))


@pytest.mark.parametrize("loss", sorted(losses.LOSSES.names()))
def test_packed_discriminator_trains_with_every_loss(ring_config, loss):
  config = _pacgan_models(ring_config, packing=4)
  config.loss = loss
  state, metrics = _train(config, steps=2)
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  # D's first layer sees 4 points of 2 coordinates; maxout makes 5 pieces of each unit.
  assert state.d.params["Dense_0"]["kernel"].shape == (8, 8 * 5)


def test_packing_under_pmap_equals_jit(ring_config):
  """Packs form within each device's share, as in one batch on one device."""
  config = _pacgan_models(ring_config, packing=2)
  config.generator["batch_norm"] = False  # BatchNorm statistics are per device.
  config.discriminator["minibatch_discrimination"] = 0  # So is the minibatch.
  config.discriminator["maxout_pieces"] = 0  # Rounding could pick another piece.
  config.d_penalties = ({"name": "r1", "weight": 1.0},)  # Through the packing.
  jit_state, _ = _train(config, steps=2)
  pmap_state, _ = _train(config, steps=2, num_devices=4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6),
               (jit_state.g.params, jit_state.d.params),
               (pmap_state.g.params, pmap_state.d.params))


def test_packing_errors_are_clear(ring_config):
  ring_config.packing = 3
  ring_config.num_devices = 1
  with pytest.raises(ConfigError, match=r"packing=3 must divide the batch each device sees "
                                        r"\(8 = batch_size 8 / 1 devices\)"):
    trainer.check_config(ring_config, 1)
  ring_config.packing = 2
  ring_config.conditional = True
  with pytest.raises(ConfigError, match="cannot be conditioned on one label each"):
    trainer.build_gan(ring_config, DataSpec((2,), num_classes=8))
  ring_config.conditional = False
  ring_config.generator = {"activation": "swish"}
  with pytest.raises(ConfigError, match="Unknown activation 'swish'. Known: leaky_relu, relu"):
    _train(ring_config, steps=1)


def _unroll_setup(ring_config, steps: int, gradient: bool = True):
  ring_config.unrolled = {"steps": steps, "gradient": gradient}
  ring_config.d_optimizer.eps_root = 1e-8
  gan = trainer.build_gan(ring_config, DataSpec((2,)))
  state = init_state(gan, jax.random.key(0), (2,))
  real = jax.random.normal(jax.random.key(1), (8, 2))
  latents = jax.random.normal(jax.random.key(2), (8, gan.latent_dim))
  return gan, state, real, latents


def test_unrolled_discriminator_equals_explicit_updates(ring_config):
  gan, state, real, latents = _unroll_setup(ring_config, steps=3)
  fake = step.generate(gan, state.g, latents)
  ctx = step._context(gan, state, None)
  rng = jax.random.key(3)
  judge = step.unrolled(gan, ctx, state.d, real, None, fake, None, rng)
  explicit = state.d
  for key in jax.random.split(rng, 3):
    explicit, _ = step._d_step(gan, ctx, explicit, real, None, fake, None, key)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               judge.params, explicit.params)
  assert not np.allclose(judge.params["Dense_0"]["kernel"], state.d.params["Dense_0"]["kernel"])


def test_unrolling_changes_g_alone_and_its_gradient_can_be_stopped(ring_config):
  """D's own update is the same with or without unrolling; G's gradient (its norm: Adam's
  first update is only its sign) differs, and differs again when the unroll is stopped."""
  states, g_grad_norms = {}, {}
  for name, steps, gradient in [("plain", 0, True), ("through", 3, True),
                                ("stopped", 3, False)]:
    gan, state, real, _ = _unroll_setup(ring_config, steps, gradient)
    states[name], metrics = jax.jit(functools.partial(step.train_step, gan))(
        state, real, jax.random.key(4))
    assert all(np.isfinite(float(v)) for v in metrics.values())
    g_grad_norms[name] = float(metrics["g/grad_norm"])
  for name in ("through", "stopped"):
    jax.tree.map(np.testing.assert_array_equal, states[name].d.params, states["plain"].d.params)
  assert len({round(norm, 6) for norm in g_grad_norms.values()}) == 3, g_grad_norms


@pytest.mark.parametrize("loss,num_devices", [
    *[(loss, 1) for loss in sorted(losses.LOSSES.names())], ("hinge", 4)])
def test_unrolled_gan_trains_with_every_loss(ring_config, loss, num_devices):
  ring_config.loss = loss
  ring_config.unrolled = {"steps": 2, "gradient": True}
  ring_config.d_optimizer.eps_root = 1e-8
  _, metrics = _train(ring_config, steps=2, num_devices=num_devices)
  assert all(np.all(np.isfinite(v)) for v in metrics.values()), metrics


def test_unrolled_config_errors(ring_config):
  ring_config.unrolled = {"steps": 2, "gradient": True}
  with pytest.raises(ConfigError, match=r"set --config.d_optimizer.eps_root=1e-8"):
    trainer.build_gan(ring_config, DataSpec((2,)))
  ring_config.d_optimizer.eps_root = 1e-8
  ring_config.schedule = "simultaneous"
  with pytest.raises(ConfigError, match="An unrolled D judges G after D's update"):
    trainer.build_gan(ring_config, DataSpec((2,)))


def test_past_discriminators_ring_and_loss(ring_config):
  """Snapshots every 2 steps into a ring of 2; G's loss is the mean over D and the ones taken."""
  ring_config.past_discriminators = {"count": 2, "every": 2}
  dataset = mixture.mixture_dataset("ring8", 0)
  gan = trainer.build_gan(ring_config, DataSpec((2,)))
  state = init_state(gan, jax.random.key(0), (2,))
  step_fn = parallel.local_layout(1).compile(gan)
  d_after = {}
  for i in range(6):
    state, metrics = step_fn(state, dataset.batch(i, 8), jax.random.key(1))
    d_after[i + 1] = jax.device_get(state.d.params)
    assert np.isfinite(float(metrics["g/loss"]))
  assert int(state.past_d.count) == 3  # Taken after steps 2, 4 and 6; slot 0 rewritten.
  for slot, taken_after in [(0, 6), (1, 4)]:
    jax.tree.map(np.testing.assert_array_equal,
                 jax.tree.map(lambda x, s=slot: x[s], state.past_d.params), d_after[taken_after])

  ctx = step._context(gan, state, None)
  real, fake = dataset.batch(9, 8), jax.random.normal(jax.random.key(2), (8, 2))
  one_taken = state.past_d._replace(count=jnp.ones((), jnp.int32))
  mean_loss, _ = step._g_loss(gan, ctx, state.d, one_taken, real, None, fake, None,
                              jax.random.key(3))
  snapshot = jax.tree.map(lambda x: x[0], state.past_d.params)
  alone = [step._g_loss(gan, ctx, state.d.replace(params=params), None, real, None, fake, None,
                        jax.random.key(3))[0] for params in (state.d.params, snapshot)]
  np.testing.assert_allclose(mean_loss, (alone[0] + alone[1]) / 2, rtol=1e-6)


def test_past_discriminators_are_checkpointed(ring_config, tmp_path):
  ring_config.past_discriminators = {"count": 3, "every": 1}
  final = trainer.train_and_evaluate(ring_config, str(tmp_path))
  gan = trainer.build_gan(ring_config, DataSpec((2,)))
  restored = checkpointing.restore_or_init(
      checkpointing.make_manager(str(tmp_path)), init_state(gan, jax.random.key(9), (2,)),
      ring_config)
  assert int(restored.past_d.count) == 4
  jax.tree.map(np.testing.assert_array_equal, restored.past_d, final.past_d)


@pytest.mark.parametrize("loss,num_devices", [("wasserstein", 1), ("hinge", 4)])
def test_past_discriminators_train_under_jit_and_pmap(ring_config, loss, num_devices):
  ring_config.loss = loss
  ring_config.past_discriminators = {"count": 2, "every": 1}
  state, metrics = _train(ring_config, steps=3, num_devices=num_devices)
  assert all(np.all(np.isfinite(v)) for v in metrics.values()), metrics
  assert np.all(np.asarray(state.past_d.count) == 3)


@pytest.mark.slow
def test_the_bench_keeps_each_run_and_tabulates_seeds_with_their_medians(tmp_path, capsys):
  results = str(tmp_path / "runs.jsonl")
  trained = [bench.run("remedies", "ring8", "non_saturating + EMA G", seed, 3, 200)
             for seed in (0, 1)]
  for row in trained:
    bench.save_result(results, row)
  rows = bench.load_results([results])
  assert [(row["seed"], row["steps"]) for row in rows] == [(0, 3), (1, 3)]
  np.testing.assert_allclose(rows[1]["samples"], trained[1]["samples"], atol=1e-4)
  bench.print_table(rows, str(tmp_path / "plots"))
  line = next(line for line in capsys.readouterr().out.splitlines()
              if line.startswith("| ring8 | non_saturating + EMA G |"))
  kl = [row["reverse_kl"] for row in rows]
  assert "| 2 | 3 | " in line and f"{np.mean(kl):.3f} ± {np.std(kl):.3f}" in line
  assert f", {np.median(kl):.3f} |" in line
  assert os.path.exists(tmp_path / "plots" / "ring8_non_saturating___EMA_G.png")


@pytest.mark.parametrize("config, setting", [
    (gaussians, ("ring8", "non_saturating + packing 4 + EMA G, cosine decay, 100,000 steps")),
    (gaussians_grid, ("grid25", "wasserstein + GP, n_critic 2, G 4x256, latent 16 + EMA G, "
                                "cosine decay, 100,000 steps")),
])
def test_the_mixture_configs_are_the_settings_measured_best(config, setting):
  measured = bench._config("remedies", *setting, seed=0, steps=None).to_dict()
  config = config.get_config().to_dict()
  cadence = ("log_every_steps", "sample_every_steps", "eval_every_steps",
             "checkpoint_every_steps", "num_devices")
  assert {k: v for k, v in config.items() if k not in cadence} == {
      k: v for k, v in measured.items() if k not in cadence}


# Settings fields whose keys are arguments of a model, the loss or an optimizer: checked by
# building the GAN instead.
ARGUMENTS = ("generator.", "discriminator.", "loss_kwargs.", "g_optimizer.", "d_optimizer.")


@pytest.mark.parametrize("suite", list(bench.SUITES))
def test_every_bench_setting_changes_fields_its_config_has(suite):
  """A misspelt field would otherwise be added to the config and change nothing."""
  base_config, settings = bench.SUITES[suite]
  known = set(checkpointing._flat_config(base_config().to_dict()))
  for setting in settings:
    config = bench._config(suite, "grid25", setting, seed=0, steps=None)
    fields = {name for name in checkpointing._flat_config(config.to_dict())
              if not name.startswith(ARGUMENTS)}
    assert fields <= known, setting
    # Checks the models', loss's and optimizers' arguments.
    trainer.build_gan(config, DataSpec((2,)))

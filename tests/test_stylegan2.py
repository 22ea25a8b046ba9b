"""StyleGAN2: the parameter counts of NVIDIA's implementation, the modulated convolution,
the [1, 3, 3, 1] resampling, the mean w and truncation, style mixing, path-length
regularisation, and training through the unchanged step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from configs import stylegan2_digits
from jaxgan import regularizers, trainer
from jaxgan.errors import ConfigError
from jaxgan.models import stylegan2
from jaxgan.state import init_state
from jaxgan.step import train_step
from jaxgan.tasks.base import DataSpec

RNGS = {"params": jax.random.key(0), "noise": jax.random.key(1)}


def _count(tree) -> int:
  return sum(x.size for x in jax.tree.leaves(tree))


# (G, D) parameters of stylegan2-ada-pytorch's training/networks.py (commit d72cc7d),
# `Generator(z_dim, w_dim=z_dim, c_dim, img_resolution, img_channels,
# mapping_kwargs={"num_layers": layers}, synthesis_kwargs={"channel_base": base,
# "channel_max": max})` and `Discriminator(c_dim, img_resolution, img_channels,
# architecture, channel_base, channel_max)`, counted with `sum(p.numel() for p in
# module.parameters())`. The first row is its --cfg=cifar; the third, jaxgan's digits config.
NVIDIA_COUNTS = [
    # z_dim, classes, size, channels, base, max, mapping layers, D architecture: G, D.
    ((512, 0, 32, 3, 32768, 512, 2, "orig"), (19_947_539, 20_720_641)),
    ((512, 10, 32, 3, 32768, 512, 2, "orig"), (20_215_315, 23_089_664)),
    ((64, 0, 16, 1, 1024, 64, 2, "resnet"), (227_464, 259_201)),
    ((64, 10, 16, 1, 1024, 64, 2, "resnet"), (232_264, 297_280)),
    ((32, 0, 8, 3, 256, 32, 8, "resnet"), (42_185, 45_633)),
]


@pytest.mark.parametrize("options,counts", NVIDIA_COUNTS)
def test_parameter_counts_equal_nvidias(options, counts):
  z_dim, classes, size, channels, base, cmax, layers, architecture = options
  generator = stylegan2.StyleGAN2Generator((size, size, channels), w_dim=z_dim,
                                           mapping_layers=layers, channel_base=base,
                                           channel_max=cmax, num_classes=classes)
  discriminator = stylegan2.StyleGAN2Discriminator(channel_base=base, channel_max=cmax,
                                                   architecture=architecture,
                                                   num_classes=classes)
  labels = (jnp.zeros((4,), jnp.int32),) if classes else ()
  g = jax.eval_shape(lambda: generator.init(RNGS, jnp.zeros((4, z_dim)), *labels, train=False))
  d = jax.eval_shape(lambda: discriminator.init(
      RNGS, jnp.zeros((4, size, size, channels)), *labels, train=False))
  assert (_count(g["params"]), _count(d["params"])) == counts


def test_modulated_convolution_equals_a_convolution_per_sample_with_its_own_kernel():
  keys = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(keys[0], (3, 6, 6, 4))
  kernel = jax.random.normal(keys[1], (3, 3, 4, 5))
  styles = jax.random.normal(keys[2], (3, 4)) + 1.0
  for demodulate in (False, True):
    expected = []
    for i in range(3):
      weights = kernel * styles[i][None, None, :, None]
      if demodulate:  # Each output channel's kernel to unit norm.
        weights = weights / jnp.sqrt(jnp.sum(weights ** 2, axis=(0, 1, 2)) + 1e-8)
      expected.append(lax.conv_general_dilated(x[i:i + 1], weights, (1, 1), "SAME",
                                               dimension_numbers=("NHWC", "HWIO", "NHWC")))
    got = stylegan2.modulated_conv(x, kernel, styles, demodulate=demodulate)
    np.testing.assert_allclose(got, jnp.concatenate(expected), rtol=1e-4, atol=1e-5)


def _fir_2d(x: jax.Array, *, pad: int, stride: int, dilation: int = 1, gain: float = 1.0):
  """`[1, 3, 3, 1]`'s outer product / 64 as one 2-D convolution of every channel."""
  taps = jnp.array([1.0, 3.0, 3.0, 1.0])
  kernel = jnp.outer(taps, taps) / 64.0 * gain
  kernel = jnp.tile(kernel[:, :, None, None], (1, 1, 1, x.shape[-1]))
  return lax.conv_general_dilated(x, kernel, (stride, stride), [(pad, pad + dilation - 1)] * 2,
                                  lhs_dilation=(dilation, dilation),
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                  feature_group_count=x.shape[-1])


def test_resampling_is_the_fir_filter_of_nvidias_upfirdn2d():
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  # upsample2d: zeros between the samples, padded (2, 1), filtered with gain 4.
  np.testing.assert_allclose(stylegan2.upsample(x),
                             _fir_2d(x, pad=2, stride=1, dilation=2, gain=4.0)[:, :16, :16],
                             atol=1e-5)
  np.testing.assert_allclose(stylegan2.blur(x, pad=1, stride=2), _fir_2d(x, pad=1, stride=2),
                             atol=1e-5)
  assert stylegan2.blur(x, pad=2, stride=1).shape == (2, 9, 9, 3)


def _generator(**kwargs) -> stylegan2.StyleGAN2Generator:
  return stylegan2.StyleGAN2Generator((8, 8, 1), w_dim=16, mapping_layers=2, channel_base=64,
                                      channel_max=16, **kwargs)


def test_mean_w_moves_in_training_and_truncation_pulls_toward_it():
  generator = _generator(style_mixing_prob=0.0, w_avg_beta=0.5)
  latents = jax.random.normal(jax.random.key(2), (6, 16))
  variables = generator.init(RNGS, latents, train=False)
  assert not jnp.any(variables["batch_stats"]["w_avg"])
  _, mutated = generator.apply(variables, latents, train=True, mutable=["batch_stats"],
                               rngs={"noise": jax.random.key(3)})
  ws = generator.apply(variables, latents, method="mapping")
  np.testing.assert_allclose(mutated["batch_stats"]["w_avg"], 0.5 * jnp.mean(ws[:, 0], 0),
                             rtol=1e-5, atol=1e-6)
  variables = {**variables, **mutated}
  w_avg = variables["batch_stats"]["w_avg"]
  for psi in (0.0, 0.5):
    truncated = generator.apply(variables, latents, method="mapping", truncation=psi)
    np.testing.assert_allclose(truncated, w_avg + psi * (
        generator.apply(variables, latents, method="mapping") - w_avg), rtol=1e-5, atol=1e-6)
  images = generator.apply(variables, latents, train=False, truncation=0.0,
                           rngs={"noise": jax.random.key(4)})
  assert images.shape == (6, 8, 8, 1)


def test_style_mixing_switches_to_another_latents_w_after_a_cutoff():
  latents = jax.random.normal(jax.random.key(2), (5, 16))
  for prob in (0.0, 1.0):
    generator = _generator(style_mixing_prob=prob)
    variables = generator.init(RNGS, latents, train=False)
    ws, _ = generator.apply(variables, latents, method="mapping", train=True,
                            mutable=["batch_stats"], rngs={"noise": jax.random.key(5)})
    same_as_first = jnp.all(jnp.isclose(ws, ws[:, :1]), axis=(0, 2))  # [num_ws]
    assert ws.shape == (5, generator.num_ws, 16) and bool(same_as_first[0])
    assert bool(jnp.all(same_as_first)) == (prob == 0.0)
    if prob:  # Once switched, every later layer has the other w.
      cutoff = int(jnp.argmin(same_as_first))
      assert bool(jnp.all(~same_as_first[cutoff:])) and 1 <= cutoff < generator.num_ws


def test_path_length_penalty_of_a_linear_synthesis_is_analytic():
  keys = jax.random.split(jax.random.key(0), 3)
  matrix = jax.random.normal(keys[0], (3 * 8, 4 * 4 * 2))
  synthesize = lambda ws: (ws.reshape(ws.shape[0], -1) @ matrix).reshape(-1, 4, 4, 2)  # noqa: E731
  ws = jax.random.normal(keys[1], (8, 3, 8))  # The first 4 of them (not 3: num_ws) are used.
  penalty, mean = regularizers.path_length_penalty(synthesize, ws, keys[2], jnp.float32(0.5),
                                                   decay=0.1, batch_shrink=2)
  noise = jax.random.normal(keys[2], (4, 4, 4, 2)) / 4.0  # / sqrt(h w)
  gradients = (noise.reshape(4, -1) @ matrix.T).reshape(4, 3, 8)
  lengths = jnp.sqrt(jnp.mean(jnp.sum(gradients ** 2, -1), 1))
  expected_mean = 0.5 + 0.1 * (jnp.mean(lengths) - 0.5)
  np.testing.assert_allclose(mean, expected_mean, rtol=1e-5)
  np.testing.assert_allclose(penalty, jnp.mean((lengths - expected_mean) ** 2), rtol=1e-4)


def test_path_length_penalty_defaults_to_the_papers_settings_and_sees_one_sample_at_least():
  synthesize = lambda ws: jnp.tanh(ws).reshape(-1, 2, 2, 2)  # noqa: E731  A nonlinear G.
  ws, key, mean = jax.random.normal(jax.random.key(0), (4, 8)), jax.random.key(1), jnp.float32(2)
  np.testing.assert_array_equal(
      regularizers.path_length_penalty(synthesize, ws, key, mean),
      regularizers.path_length_penalty(synthesize, ws, key, mean, decay=0.01, batch_shrink=2))
  np.testing.assert_array_equal(  # Of 2 samples shrunk by 4, the first one alone.
      regularizers.path_length_penalty(synthesize, ws[:2], key, mean, batch_shrink=4),
      regularizers.path_length_penalty(synthesize, ws[:1], key, mean, batch_shrink=4))


def _tiny_config():
  config = stylegan2_digits.get_config()
  config.latent_dim = 8
  config.generator.update({"w_dim": 8, "channel_base": 64, "channel_max": 8})
  config.discriminator.update({"channel_base": 64, "channel_max": 8})
  config.batch_size = 8
  return config


def _gan(config):
  return trainer.build_gan(config, DataSpec((8, 8, 1)))


def _step(config, steps: int):
  gan = _gan(config)
  state = init_state(gan, jax.random.key(0), (8, 8, 1))
  batch = jax.random.uniform(jax.random.key(1), (8, 8, 8, 1), minval=-1.0, maxval=1.0)
  step = jax.jit(lambda s: train_step(gan, s, batch, jax.random.key(2)))
  metrics = None
  for _ in range(steps):
    state, metrics = step(state)
  return state, metrics


def test_path_length_trains_g_on_due_steps_and_keeps_its_running_mean():
  config = _tiny_config()
  config.g_penalties = ({"name": "path_length", "weight": 2.0, "every": 2},)
  state, metrics = _step(config, 1)  # Step 0 is due.
  (mean,) = state.g.penalty_state
  assert float(metrics["g/path_length"]) > 0 and float(mean) > 0
  config.g_penalties = ({"name": "path_length", "weight": 0.0, "every": 2},)
  unweighted, _ = _step(config, 1)
  config.g_penalties = ()
  plain, plain_metrics = _step(config, 1)
  assert "g/path_length" not in plain_metrics and plain.g.penalty_state is None
  leaves = lambda s: jax.tree.leaves(s.g.params)  # noqa: E731
  assert all(np.array_equal(a, b) for a, b in zip(leaves(unweighted), leaves(plain)))
  assert not all(np.allclose(a, b) for a, b in zip(leaves(state), leaves(plain)))
  config.g_penalties = ({"name": "path_length", "weight": 2.0, "every": 2},)
  two, two_metrics = _step(config, 2)  # Step 1 is not due: the mean stays.
  np.testing.assert_array_equal(two.g.penalty_state[0], mean)
  assert float(two_metrics["g/path_length"]) == 0.0


def test_a_generator_penalty_needs_a_mapping_network(digits_config):
  digits_config.g_penalties = ({"name": "path_length", "weight": 2.0},)
  with pytest.raises(ConfigError, match="need a generator with a mapping network"):
    trainer.build_gan(digits_config, DataSpec((16, 16, 1)))


def test_stylegan2_refuses_sizes_that_are_not_powers_of_two():
  with pytest.raises(ConfigError, match="power of 2"):
    stylegan2.check_data_shape((28, 28, 1), {})

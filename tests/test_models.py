import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models, trainer
from jaxgan.models import common, msg
from jaxgan.tasks import DataSpec


@pytest.mark.parametrize("size,channels,features", [
    (16, 1, (16, 8)), (28, 1, (16, 8)), (32, 3, (16, 8, 4)), (64, 3, (16, 8, 8, 4))])
def test_dcgan_shapes(size, channels, features):
  pair = models.get("dcgan")
  pair.check_data_shape((size, size, channels), {"features": features})
  generator = pair.generator(data_shape=(size, size, channels), features=features)
  discriminator = pair.discriminator(features=features[::-1])
  latents = jnp.ones((3, 10))
  g_vars = generator.init(jax.random.key(0), latents, train=False)
  images = generator.apply(g_vars, latents, train=False)
  assert images.shape == (3, size, size, channels)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  d_vars = discriminator.init(jax.random.key(1), images, train=False)
  assert discriminator.apply(d_vars, images, train=False).shape == (3,)


def test_dcgan_init_statistics():
  pair = models.get("dcgan")
  generator = pair.generator(data_shape=(32, 32, 3), features=(256, 128, 64))
  params = generator.init(jax.random.key(0), jnp.ones((1, 100)), train=False)["params"]
  kernel = params["ConvTranspose_0"]["kernel"]
  assert abs(float(jnp.std(kernel)) - 0.02) < 0.001 and abs(float(jnp.mean(kernel))) < 0.001
  scale = params["BatchNorm_0"]["scale"]
  assert abs(float(jnp.mean(scale)) - 1.0) < 0.005 and abs(float(jnp.std(scale)) - 0.02) < 0.005
  assert "bias" not in params["ConvTranspose_0"]  # No bias before BatchNorm, as in the paper.


def test_textbook_discriminator_has_no_batch_norm_on_the_first_layer():
  discriminator = models.get("dcgan").discriminator(features=(8, 16, 32))
  variables = discriminator.init(jax.random.key(0), jnp.ones((2, 32, 32, 1)), train=False)
  assert len(variables["batch_stats"]) == 2  # Layers 2 and 3 only.


def test_mlp_shapes_and_output_activation():
  pair = models.get("mlp")
  latents = jax.random.normal(jax.random.key(0), (5, 4)) * 100
  for activation, bounded in (("tanh", True), ("identity", False)):
    generator = pair.generator(data_shape=(28, 28, 1), hidden_dims=(32,),
                               output_activation=activation)
    samples = generator.apply(generator.init(jax.random.key(0), latents), latents)
    assert samples.shape == (5, 28, 28, 1)
    assert (float(jnp.max(jnp.abs(samples))) <= 1.0) == bounded
  discriminator = pair.discriminator(hidden_dims=(32, 16))
  logits = discriminator.apply(discriminator.init(jax.random.key(0), samples), samples)
  assert logits.shape == (5,)


def test_discriminator_returns_unbounded_logits():
  discriminator = models.get("mlp").discriminator(hidden_dims=(8,))
  x = jnp.full((2, 2), 1e3)
  variables = discriminator.init(jax.random.key(0), x)
  assert float(jnp.max(jnp.abs(discriminator.apply(variables, x)))) > 1.0


def test_shape_the_generator_cannot_make_is_a_clear_error():
  with pytest.raises(ValueError, match="multiples of 4.*30x30"):
    models.get("dcgan").check_data_shape((30, 30, 1), {"features": (8, 4)})
  with pytest.raises(ValueError, match="square images"):
    models.get("dcgan").check_data_shape((2,), {})


def test_unknown_model_lists_the_known_ones():
  known = "char_resnet, cyclegan, dcgan, mlp, msg, pix2pix, progressive, sngan_resnet"
  with pytest.raises(ValueError, match=f"Unknown model 'xyz'. Known: {known}"):
    models.get("xyz")


def test_self_attention_equals_a_numpy_computation():
  x = jax.random.normal(jax.random.key(0), (2, 4, 5, 16))
  block = models.SelfAttention()
  params = block.init(jax.random.key(1), x)["params"]
  np.testing.assert_array_equal(block.apply({"params": params}, x), x)  # gamma starts at 0.
  params = {**params, "gamma": jnp.array(0.7)}
  got = np.asarray(block.apply({"params": params}, x))

  def weights(name):
    return np.asarray(params[name]["kernel"])[0, 0]  # 1x1 conv: [in, out].
  flat = np.asarray(x).reshape(2, 20, 16)
  query, key, value = (flat @ weights(n) for n in ("query", "key", "value"))
  assert query.shape == (2, 20, 2) and value.shape == (2, 20, 8)  # c/8 and c/2 features.
  scores = query @ key.transpose(0, 2, 1)
  attention = np.exp(scores - scores.max(-1, keepdims=True))
  attention /= attention.sum(-1, keepdims=True)  # Each position's weights over all positions.
  expected = flat + 0.7 * (attention @ value) @ weights("output")
  np.testing.assert_allclose(got, expected.reshape(x.shape), rtol=1e-5, atol=1e-5)


def _num_params(tree) -> int:
  return sum(leaf.size for leaf in jax.tree.leaves(tree))


def _sngan_cifar10_counts() -> tuple[int, int]:
  """Parameters of the paper's CIFAR-10 ResNets, counted layer by layer (weights + biases)."""
  conv = lambda k, i, o: k * k * i * o + o  # noqa: E731
  g = (128 * 4 * 4 * 256 + 4 * 4 * 256  # Dense to 4x4x256.
       + 3 * (2 * 2 * 256 + 2 * conv(3, 256, 256) + conv(1, 256, 256))  # Up-blocks.
       + 2 * 256 + conv(3, 256, 3))  # Final BatchNorm and conv.
  d = (conv(3, 3, 128) + conv(3, 128, 128) + conv(1, 3, 128)  # First block.
       + 2 * conv(3, 128, 128) + conv(1, 128, 128)  # Second, halving: a 1x1 shortcut.
       + 2 * 2 * conv(3, 128, 128)  # Two more without shortcut convs.
       + 128 + 1)  # Dense to one logit.
  return g, d


def test_sngan_resnet_has_the_papers_parameter_counts():
  pair = models.get("sngan_resnet")
  generator = pair.generator(data_shape=(32, 32, 3), features=(256, 256, 256))
  discriminator = pair.discriminator(features=(128, 128, 128, 128), num_down=2)
  latents = jnp.zeros((1, 128))
  g_vars = generator.init(jax.random.key(0), latents, train=False)
  d_vars = discriminator.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)), train=False)
  assert (_num_params(g_vars["params"]), _num_params(d_vars["params"])) == _sngan_cifar10_counts()
  assert _sngan_cifar10_counts() == (4_276_739, 1_053_825)
  assert len(jax.tree.leaves(d_vars["batch_stats"])) == 2 * 11  # u, sigma for all 11 kernels.


@pytest.mark.parametrize("size,channels,features", [
    (16, 1, (16, 16)), (28, 1, (16, 16)), (32, 3, (16, 16, 16)), (64, 3, (16, 8, 8, 8))])
@pytest.mark.parametrize("attention", [False, True])
def test_sngan_resnet_shapes(size, channels, features, attention):
  pair = models.get("sngan_resnet")
  pair.check_data_shape((size, size, channels), {"features": features})
  generator = pair.generator(data_shape=(size, size, channels), features=features,
                             attention_resolution=size // 2 if attention else 0)
  discriminator = pair.discriminator(features=(8, 8, 8), num_down=2,
                                     attention_resolution=size // 4 if attention else 0)
  latents = jax.random.normal(jax.random.key(0), (3, 12))
  g_vars = generator.init(jax.random.key(0), latents, train=False)
  images = generator.apply(g_vars, latents, train=False)
  assert images.shape == (3, size, size, channels) and float(jnp.max(jnp.abs(images))) <= 1.0
  d_vars = discriminator.init(jax.random.key(1), images, train=False)
  assert discriminator.apply(d_vars, images, train=False).shape == (3,)
  assert ("SelfAttention_0" in g_vars["params"]) == attention
  assert ("SelfAttention_0" in d_vars["params"]) == attention


def test_dcgan_attention_and_a_resolution_it_lacks():
  generator = models.get("dcgan").generator(data_shape=(16, 16, 1), features=(16, 8),
                                            attention_resolution=8)
  params = generator.init(jax.random.key(0), jnp.ones((2, 4)), train=False)["params"]
  assert params["SelfAttention_0"]["query"]["kernel"].shape == (1, 1, 8, 1)  # At 8x8x8.
  bad = models.get("dcgan").discriminator(features=(8, 16), attention_resolution=6)
  with pytest.raises(ValueError, match=r"attention_resolution=6 matches none of its feature "
                                       r"map sizes \[4, 8\]"):
    bad.init(jax.random.key(0), jnp.ones((2, 16, 16, 1)), train=False)


@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (1, 5, 7, 2)])
def test_resampling_equals_numpy_and_their_gradients_are_each_others_adjoints(shape):
  x = jax.random.normal(jax.random.key(0), shape)
  n, h, w, c = shape
  up = np.asarray(x).repeat(2, axis=1).repeat(2, axis=2)
  np.testing.assert_array_equal(common.upsample(x), up)
  blocks = np.asarray(x)[:, :h - h % 2, :w - w % 2].reshape(n, h // 2, 2, w // 2, 2, c)
  down = common.downsample(x)
  np.testing.assert_allclose(down, blocks.mean(axis=(2, 4)), rtol=1e-6, atol=1e-6)
  # The gradient of nearest upsampling sums each 2x2 block; average pooling's spreads a
  # quarter of each cotangent over its block (nothing to a dropped odd row or column).
  g_up = jax.random.normal(jax.random.key(1), up.shape)
  np.testing.assert_allclose(
      jax.grad(lambda x: jnp.sum(common.upsample(x) * g_up))(x),
      np.asarray(g_up).reshape(n, h, 2, w, 2, c).sum(axis=(2, 4)), rtol=1e-6, atol=1e-6)
  g_down = np.asarray(jax.random.normal(jax.random.key(2), down.shape))
  spread = np.zeros(shape, np.float32)
  spread[:, :h - h % 2, :w - w % 2] = g_down.repeat(2, axis=1).repeat(2, axis=2) / 4
  np.testing.assert_allclose(jax.grad(lambda x: jnp.sum(common.downsample(x) * g_down))(x),
                             spread, rtol=1e-6, atol=1e-6)


def test_real_pyramid_averages_two_by_two_blocks():
  images = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  pyramid = msg.real_pyramid(images, 3)
  assert [p.shape for p in pyramid] == [(2, 2, 2, 3), (2, 4, 4, 3), (2, 8, 8, 3)]
  blocks = np.asarray(images).reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
  np.testing.assert_allclose(pyramid[1], blocks, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size,channels,g_features,d_features", [
    (16, 1, (16, 8, 8), (8, 8, 16)), (28, 1, (16, 8, 8), (8, 8, 16)),
    (32, 3, (16, 16, 8, 8), (8, 8, 16, 16)), (64, 3, (8, 8, 8, 8, 8), (8, 8, 8, 8, 8))])
@pytest.mark.parametrize("combine", ["cat", "lin_cat"])
def test_msg_makes_every_scale_and_judges_them_together(size, channels, g_features,
                                                        d_features, combine):
  pair = models.get("msg")
  pair.check_data_shape((size, size, channels), {"features": g_features})
  generator = pair.generator(data_shape=(size, size, channels), features=g_features)
  discriminator = pair.discriminator(features=d_features, combine=combine)
  latents = jax.random.normal(jax.random.key(0), (3, 12))
  pyramid = generator.apply(generator.init(jax.random.key(0), latents), latents)
  base = size // 2 ** (len(g_features) - 1)
  assert [p.shape for p in pyramid] == [(3, base * 2 ** i, base * 2 ** i, channels)
                                        for i in range(len(g_features))]
  d_vars = discriminator.init(jax.random.key(1), pyramid)
  logits = discriminator.apply(d_vars, pyramid)
  assert logits.shape == (3,)
  # Every scale reaches the logit, and an image batch is judged as its average-pooled pyramid.
  grads = jax.grad(lambda p: jnp.sum(discriminator.apply(d_vars, p)))(pyramid)
  assert all(float(jnp.abs(g).sum()) > 0 for g in grads)
  real = pyramid[-1]
  np.testing.assert_allclose(discriminator.apply(d_vars, real),
                             discriminator.apply(d_vars, msg.real_pyramid(real, len(d_features))),
                             rtol=1e-5, atol=1e-5)
  assert ("combine_1" in d_vars["params"]) == (combine == "lin_cat")


def test_msg_scales_must_match():
  discriminator = models.get("msg").discriminator(features=(8, 8))
  pyramid = msg.real_pyramid(jnp.ones((2, 16, 16, 1)), 3)
  with pytest.raises(ValueError, match="has 2 scales .* but G makes 3"):
    discriminator.init(jax.random.key(0), pyramid)


def test_msg_refuses_the_replay_buffer(digits_config):
  digits_config.model = "msg"
  digits_config.generator = {"features": (8, 8, 8)}
  digits_config.discriminator = {"features": (8, 8, 8)}
  digits_config.replay.size = 64
  with pytest.raises(ValueError, match="replay buffer keeps single samples, not the msg"):
    trainer.build_gan(digits_config, DataSpec((16, 16, 1)))


def test_minibatch_stddev_feature_equals_numpy_and_stays_within_groups():
  x = np.asarray(jax.random.normal(jax.random.key(0), (8, 3, 3, 5)))
  out = np.asarray(common.batch_stddev_feature(jnp.asarray(x), 4))
  assert out.shape == (8, 3, 3, 6)
  np.testing.assert_array_equal(out[..., :5], x)
  groups = x.reshape(4, 2, 3, 3, 5)  # Samples i and i + 2, i + 4, i + 6 form group i % 2.
  expected = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))
  np.testing.assert_allclose(out[:, 0, 0, 5], np.tile(expected, 4), rtol=1e-5)
  collapsed = np.broadcast_to(x[:1], x.shape)  # A collapsed batch: no spread at all.
  assert np.all(np.asarray(common.batch_stddev_feature(jnp.asarray(collapsed), 4))[..., 5]
                < 1e-3)
  with pytest.raises(ValueError, match=r"minibatch_stddev=4 must divide the batch each device "
                                       r"sees \(6\)"):
    common.batch_stddev_feature(jnp.ones((6, 2, 2, 1)), 4)
  vectors = x.reshape(8, 45)  # Feature vectors, as in an MLP: the same statistic.
  np.testing.assert_allclose(common.batch_stddev_feature(jnp.asarray(vectors), 4)[:, 45],
                             out[:, 0, 0, 5], rtol=1e-5)


@pytest.mark.parametrize("model,kwargs", [("dcgan", {"features": (8, 16)}),
                                          ("msg", {"features": (8, 8, 8)}),
                                          ("mlp", {"hidden_dims": (8,)})])
def test_minibatch_stddev_in_discriminators(model, kwargs):
  discriminator = models.get(model).discriminator(**kwargs, minibatch_stddev=4)
  images = jax.random.normal(jax.random.key(0), (8, 16, 16, 1))
  variables = discriminator.init(jax.random.key(1), images, train=False)
  logits = discriminator.apply(variables, images, train=False)
  # Changing one sample moves the logits of the other samples of its group only.
  moved = discriminator.apply(variables, images.at[0].multiply(3.0), train=False)
  changed = np.abs(np.asarray(moved - logits)) > 1e-6
  assert list(changed) == [True, False, True, False, True, False, True, False]

import jax
import jax.numpy as jnp
import pytest

from jaxgan import models


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
  with pytest.raises(ValueError, match="Unknown model 'resnet'. Known: dcgan, mlp"):
    models.get("resnet")
